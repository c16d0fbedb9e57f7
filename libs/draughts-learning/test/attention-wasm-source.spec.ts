import { BUILD_COMMAND, compileAttentionWat } from '../scripts/build-attention-wasm';
import { attentionWasmBytes } from '../src/attention-wasm.generated';

/** Index of the first byte where a and b differ, or -1 when they are equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe('attention.wat and the committed module bytes', () => {
  it('src/attention-wasm.generated.ts holds exactly what wabt compiles from src/attention.wat', async () => {
    const compiled = await compileAttentionWat();
    const committed = attentionWasmBytes();
    const at = firstDifference(compiled, committed);
    if (at !== -1)
      throw new Error(
        `src/attention-wasm.generated.ts (${committed.length} bytes) is not the compilation of ` +
          `src/attention.wat (${compiled.length} bytes; first difference at byte ${at}). ` +
          `Run \`${BUILD_COMMAND}\` and commit both files.`,
      );
    expect(committed).toEqual(compiled);
  });

  it('the committed bytes are a valid SIMD module exporting memory and attend(qkv, out, n, d)', () => {
    const module = new WebAssembly.Module(attentionWasmBytes());
    expect(WebAssembly.Module.exports(module)).toEqual([
      { name: 'memory', kind: 'memory' },
      { name: 'attend', kind: 'function' },
    ]);
    expect(WebAssembly.Module.imports(module)).toEqual([]);
  });
});
