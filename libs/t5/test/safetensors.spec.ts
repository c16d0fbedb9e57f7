import { readSafetensors, writeSafetensors } from '../src/safetensors';
import { must } from './helpers';

function rawFile(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips float32 tensors bit-exactly, with metadata and an 8-byte aligned header', () => {
    const a = new Float32Array([1.5, -0, Number.MIN_VALUE, 3.4e38, NaN, -Infinity]);
    const b = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    const bytes = writeSafetensors(
      [
        { name: 'a', shape: [2, 3], data: a },
        { name: 'b.weight', shape: [4], data: b },
      ],
      { format: 'pt' },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const file = readSafetensors(bytes);
    expect(file.metadata).toEqual({ format: 'pt' });
    expect(file.tensors.get('a')?.shape).toEqual([2, 3]);
    expect(new Uint32Array(must(file.tensors.get('a')).data.buffer)).toEqual(
      new Uint32Array(a.buffer),
    );
    expect(new Uint32Array(must(file.tensors.get('b.weight')).data.buffer)).toEqual(
      new Uint32Array(b.buffer),
    );
  });

  it('writes the layout the spec describes: LE u64 length, JSON header, LE data at data_offsets', () => {
    const bytes = writeSafetensors([{ name: 'x', shape: [1], data: new Float32Array([1]) }]);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    expect(Array.from(bytes.subarray(8 + n))).toEqual([0x00, 0x00, 0x80, 0x3f]); // 1.0f little-endian
  });

  it('reads F16 and BF16 as float32', () => {
    // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 0x0001
    // BF16: 1.0 = 0x3f80, -3.0 = 0xc040
    const f16 = new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00]);
    const bf16 = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]);
    const data = new Uint8Array([...f16, ...bf16]);
    const file = readSafetensors(
      rawFile(
        {
          h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] },
          b: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
          __metadata__: { format: 'pt' },
        },
        data,
      ),
    );
    expect(Array.from(must(file.tensors.get('h')).data)).toEqual([
      1,
      -2,
      65504,
      Math.fround(2 ** -24),
    ]);
    expect(Array.from(must(file.tensors.get('b')).data)).toEqual([1, -3]);
  });

  it('explains corrupt files', () => {
    expect(() => readSafetensors(new Uint8Array(4))).toThrow(/too short/);
    const bad = rawFile(
      { x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } },
      new Uint8Array(8),
    );
    expect(() => readSafetensors(bad, 'm.safetensors')).toThrow(
      /m.safetensors: tensor "x" spans bytes \[0, 4\).*needs 8 bytes/,
    );
    const i64 = rawFile(
      { x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } },
      new Uint8Array(8),
    );
    expect(() => readSafetensors(i64)).toThrow(/dtype I64; only F32, F16, BF16 and F64/);
    const overlap = rawFile(
      {
        x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      },
      new Uint8Array(8),
    );
    expect(() => readSafetensors(overlap)).toThrow(/overlap/);
    expect(() => writeSafetensors([{ name: 'x', shape: [3], data: new Float32Array(2) }])).toThrow(
      /2 values but shape \[3\]/,
    );
  });
});
