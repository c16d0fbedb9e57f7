/**
 * Multi-head self-attention over the 32 squares as one WebAssembly SIMD function, for heads of
 * width 4 (the committed model: d = 16, 4 heads).
 *
 * Why: on tfjs-backend-wasm the attention of a batch is 1,024 tiny products per layer at batch 256
 * ([32, 4]·[4, 32] and [32, 32]·[32, 4]). The stock BatchMatMul runs them as a scalar loop; the
 * XNNPACK kernel of @conveyor/tfjs-runtime creates an XNNPACK operator per product, ~2 µs each
 * for ~4,000 multiply-adds, so the products, the Softmax kernel and the head-major copies in JS
 * were ~60% of a large batch's cost (docs/benchmarks/checkers-learning.md). Here one call does
 * the whole batch: scores, softmax and the weighted sum of values, reading Q/K/V rows as the QKV
 * projection lays them out ([n · 32, 3d]: Q | K | V, head h at columns 4h…4h+3, the 1/√d_head
 * scale already folded into Q) and writing the output rows in the layout the output projection
 * reads ([n · 32, d]).
 *
 * The module is assembled below from a few dozen opcodes (no toolchain needed, ~3 kB, compiled
 * synchronously). Per (position, head): K is transposed into a scratch [4, 32] block; per query
 * row the 32 scores are 8 f32x4 vectors kept in locals, softmax uses max-subtraction and an exp
 * evaluated as 2^n · p(r) with r = x − n·ln 2 (|r| ≤ ln2/2, Cody–Waite split of ln 2) and p the
 * degree-6 Taylor polynomial (relative error < 2e-7); the values are
 * then summed with the unnormalised weights and scaled by 1/Σ once.
 *
 * `createWasmAttention()` returns null when WebAssembly or its SIMD extension is unavailable; the
 * inference graph then keeps its tfjs path. test/inference.spec.ts holds both paths to the
 * training forward within 1e-5.
 */

/** Bytes of scratch at address 0: the transposed K block of one (position, head). */
const SCRATCH_BYTES = 1024;
const PAGE = 65536;

// ---- a minimal WebAssembly binary writer --------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];
const i32Add = [0x6a];
const i32Mul = [0x6c];
const i32LtU = [0x49];
const f32Load = (offset: number): number[] => [0x2a, 0x02, ...uleb(offset)];
const f32Store = (offset: number): number[] => [0x38, 0x02, ...uleb(offset)];
const f32Max = [0x97];
const f32Add = [0x92];
const f32Div = [0x95];
const f32 = (v: number): number[] => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const v128Load = (offset: number): number[] => [...simd(0x00), 0x00, ...uleb(offset)];
const v128Store = (offset: number): number[] => [...simd(0x0b), 0x00, ...uleb(offset)];
const f32x4Const = (v: number): number[] => [
  ...simd(0x0c),
  ...new Uint8Array(new Float32Array([v, v, v, v]).buffer),
];
const i32x4Const = (v: number): number[] => [
  ...simd(0x0c),
  ...new Uint8Array(new Int32Array([v, v, v, v]).buffer),
];
const f32x4Splat = simd(0x13);
const f32x4Extract = (lane: number): number[] => [...simd(0x1f), lane];
const f32x4Nearest = simd(0x6a);
const i32x4Shl = simd(0xab);
const i32x4Add = simd(0xae);
const f32x4Add = simd(0xe4);
const f32x4Sub = simd(0xe5);
const f32x4Mul = simd(0xe6);
const f32x4Max = simd(0xe9);
const i32x4TruncSatF32x4S = simd(0xf8);

/** do { body } while (condition): the body runs at least once. */
const doWhile = (body: number[], condition: number[]): number[] => [
  0x03,
  0x40,
  ...body,
  ...condition,
  0x0d,
  0x00,
  0x0b,
];

// ---- the attention function -----------------------------------------------------------------

// Parameters: qkv pointer, output pointer, positions n, model width d.
const P_QKV = 0;
const P_OUT = 1;
const P_N = 2;
const P_D = 3;
// i32 locals.
const L_ROW_BYTES = 4; // 12 d: one QKV row
const L_POS = 5; // QKV row 0 of the current position
const L_END = 6;
const L_OUT_POS = 7; // output row 0 of the current position
const L_HEAD = 8; // byte offset of the head's columns: 16 h
const L_BASE = 9; // Q of row 0, this head
const L_ROW = 10; // Q of row i, this head
const L_OUT = 11; // output of row i, this head
const L_PTR = 12;
const L_J = 13;
const L_D_BYTES = 14; // 4 d
const I32_LOCALS = 11;
// v128 locals.
const L_Q = 15; // 4: the query's components, splatted
const L_S = 19; // 8: the 32 scores, then their exponentials
const L_X = 27;
const L_T = 28;
const L_ACC = 29;
// Constants of exp, set once per call (a v128.const inside the loop is rebuilt at every use).
const EXP_CONSTANTS = [
  -87,
  Math.LOG2E,
  0.693359375,
  -2.1219444e-4,
  1 / 720,
  1 / 120,
  1 / 24,
  1 / 6,
  1 / 2,
  1,
];
const L_C = 30;
const L_C127 = L_C + EXP_CONSTANTS.length;
const V128_LOCALS = 15 + EXP_CONSTANTS.length + 1;
// f32 locals.
const L_M = L_C127 + 1;
const F32_LOCALS = 1;

/** s[k] ← exp(s[k]) for x = s[k] ≤ 0 (after max-subtraction; clamped at −87 so 2^n stays normal). */
function expInPlace(k: number): number[] {
  const c = (i: number): number[] => get(L_C + i);
  const code: number[] = [
    ...get(L_S + k),
    ...c(0),
    ...f32x4Max,
    ...set(L_X),
    // t = nearest(x · log2 e)
    ...get(L_X),
    ...c(1),
    ...f32x4Mul,
    ...f32x4Nearest,
    ...set(L_T),
    // r = x − t · 0.693359375 − t · (−2.12194440e-4)   (kept in L_X)
    ...get(L_X),
    ...get(L_T),
    ...c(2),
    ...f32x4Mul,
    ...f32x4Sub,
    ...get(L_T),
    ...c(3),
    ...f32x4Mul,
    ...f32x4Sub,
    ...set(L_X),
    // p = Horner over the Taylor coefficients 1/6!, …, 1/2, 1, 1
    ...c(4),
  ];
  for (const i of [5, 6, 7, 8, 9, 9]) code.push(...get(L_X), ...f32x4Mul, ...c(i), ...f32x4Add);
  // · 2^t, built as float bits (t + 127) << 23
  code.push(
    ...get(L_T),
    ...i32x4TruncSatF32x4S,
    ...get(L_C127),
    ...i32x4Add,
    ...i32(23),
    ...i32x4Shl,
    ...f32x4Mul,
    ...set(L_S + k),
  );
  return code;
}

function attentionBody(): number[] {
  const rowLoop: number[] = [];
  // q components, splatted
  for (let c = 0; c < 4; c++)
    rowLoop.push(...get(L_ROW), ...f32Load(4 * c), ...f32x4Splat, ...set(L_Q + c));
  // scores: s[jb] = Σ_c q_c · KT[c][4 jb … 4 jb + 3]; scratch is at address 0
  for (let jb = 0; jb < 8; jb++) {
    for (let c = 0; c < 4; c++) {
      rowLoop.push(...i32(0), ...v128Load((c * 32 + 4 * jb) * 4), ...get(L_Q + c), ...f32x4Mul);
      if (c > 0) rowLoop.push(...f32x4Add);
    }
    rowLoop.push(...set(L_S + jb));
  }
  // m = max of the 32 scores
  rowLoop.push(...get(L_S));
  for (let jb = 1; jb < 8; jb++) rowLoop.push(...get(L_S + jb), ...f32x4Max);
  rowLoop.push(...set(L_X));
  rowLoop.push(...get(L_X), ...f32x4Extract(0));
  for (let lane = 1; lane < 4; lane++) rowLoop.push(...get(L_X), ...f32x4Extract(lane), ...f32Max);
  rowLoop.push(...set(L_M));
  for (let jb = 0; jb < 8; jb++)
    rowLoop.push(...get(L_S + jb), ...get(L_M), ...f32x4Splat, ...f32x4Sub, ...set(L_S + jb));
  for (let jb = 0; jb < 8; jb++) rowLoop.push(...expInPlace(jb));
  // Σ e (into L_M as a scalar)
  rowLoop.push(...get(L_S));
  for (let jb = 1; jb < 8; jb++) rowLoop.push(...get(L_S + jb), ...f32x4Add);
  rowLoop.push(...set(L_X));
  rowLoop.push(...get(L_X), ...f32x4Extract(0));
  for (let lane = 1; lane < 4; lane++) rowLoop.push(...get(L_X), ...f32x4Extract(lane), ...f32Add);
  rowLoop.push(...set(L_M));
  // acc = Σ_j e_j · V_j, V_j at base + 8 d + j · rowBytes
  rowLoop.push(...f32x4Const(0), ...set(L_ACC));
  rowLoop.push(...get(L_BASE), ...get(L_D_BYTES), ...i32(2), ...i32Mul, ...i32Add, ...set(L_PTR));
  for (let j = 0; j < 32; j++) {
    rowLoop.push(
      ...get(L_ACC),
      ...get(L_S + (j >> 2)),
      ...f32x4Extract(j & 3),
      ...f32x4Splat,
      ...get(L_PTR),
      ...v128Load(0),
      ...f32x4Mul,
      ...f32x4Add,
      ...set(L_ACC),
    );
    if (j < 31) rowLoop.push(...get(L_PTR), ...get(L_ROW_BYTES), ...i32Add, ...set(L_PTR));
  }
  // out = acc / Σ e
  rowLoop.push(
    ...get(L_OUT),
    ...get(L_ACC),
    ...f32(1),
    ...get(L_M),
    ...f32Div,
    ...f32x4Splat,
    ...f32x4Mul,
    ...v128Store(0),
  );
  // next row
  rowLoop.push(
    ...get(L_ROW),
    ...get(L_ROW_BYTES),
    ...i32Add,
    ...set(L_ROW),
    ...get(L_OUT),
    ...get(L_D_BYTES),
    ...i32Add,
    ...set(L_OUT),
    ...get(L_J),
    ...i32(1),
    ...i32Add,
    ...set(L_J),
  );
  const rowCondition = [...get(L_J), ...i32(32), ...i32LtU];

  // K of this head transposed into scratch: KT[c][j] at (32 c + j) · 4
  const transposeLoop: number[] = [];
  for (let c = 0; c < 4; c++)
    transposeLoop.push(
      ...get(L_J),
      ...i32(4),
      ...i32Mul,
      ...get(L_PTR),
      ...f32Load(4 * c),
      ...f32Store(128 * c),
    );
  transposeLoop.push(
    ...get(L_PTR),
    ...get(L_ROW_BYTES),
    ...i32Add,
    ...set(L_PTR),
    ...get(L_J),
    ...i32(1),
    ...i32Add,
    ...set(L_J),
  );

  const headLoop: number[] = [
    ...get(L_POS),
    ...get(L_HEAD),
    ...i32Add,
    ...set(L_BASE),
    // transpose K
    ...get(L_BASE),
    ...get(L_D_BYTES),
    ...i32Add,
    ...set(L_PTR),
    ...i32(0),
    ...set(L_J),
    ...doWhile(transposeLoop, [...get(L_J), ...i32(32), ...i32LtU]),
    // rows
    ...get(L_BASE),
    ...set(L_ROW),
    ...get(L_OUT_POS),
    ...get(L_HEAD),
    ...i32Add,
    ...set(L_OUT),
    ...i32(0),
    ...set(L_J),
    ...doWhile(rowLoop, rowCondition),
    ...get(L_HEAD),
    ...i32(16),
    ...i32Add,
    ...set(L_HEAD),
  ];
  const positionLoop: number[] = [
    ...i32(0),
    ...set(L_HEAD),
    ...doWhile(headLoop, [...get(L_HEAD), ...get(L_D_BYTES), ...i32LtU]),
    ...get(L_POS),
    ...get(L_ROW_BYTES),
    ...i32(32),
    ...i32Mul,
    ...i32Add,
    ...set(L_POS),
    ...get(L_OUT_POS),
    ...get(L_D_BYTES),
    ...i32(32),
    ...i32Mul,
    ...i32Add,
    ...set(L_OUT_POS),
  ];
  const constants: number[] = [];
  EXP_CONSTANTS.forEach((v, i) => constants.push(...f32x4Const(v), ...set(L_C + i)));
  constants.push(...i32x4Const(127), ...set(L_C127));
  return [
    ...constants,
    ...get(P_D),
    ...i32(4),
    ...i32Mul,
    ...set(L_D_BYTES),
    ...get(L_D_BYTES),
    ...i32(3),
    ...i32Mul,
    ...set(L_ROW_BYTES),
    ...get(P_QKV),
    ...set(L_POS),
    ...get(P_OUT),
    ...set(L_OUT_POS),
    ...get(P_QKV),
    ...get(P_N),
    ...get(L_ROW_BYTES),
    ...i32(32),
    ...i32Mul,
    ...i32Mul,
    ...i32Add,
    ...set(L_END),
    ...doWhile(positionLoop, [...get(L_POS), ...get(L_END), ...i32LtU]),
  ];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const type = [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0x00];
  const body = attentionBody();
  const locals = vec([
    [...uleb(I32_LOCALS), I32],
    [...uleb(V128_LOCALS), V128],
    [...uleb(F32_LOCALS), F32],
  ]);
  const func = [...locals, ...body, 0x0b];
  const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([type])),
    ...section(3, vec([[0x00]])),
    ...section(5, vec([[0x00, 0x01]])),
    ...section(
      7,
      vec([
        [...name('memory'), 0x02, 0x00],
        [...name('attend'), 0x00, 0x00],
      ]),
    ),
    ...section(10, vec([[...uleb(func.length), ...func]])),
  ]);
}

// ---- JS side ------------------------------------------------------------------------------------

export interface WasmAttention {
  /**
   * Q/K/V rows [n · 32, 3d] to fill before `attend` (a view of the module's memory: valid until
   * the next `reserve` with a larger n).
   */
  readonly qkv: Float32Array;
  /** Output rows [n · 32, d] written by `attend` (same validity as `qkv`). */
  readonly out: Float32Array;
  /** Makes room for n positions (grows memory if needed; views are replaced then). */
  reserve(n: number): void;
  /** Attention of the first n positions of `qkv` into `out`. */
  attend(n: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = moduleBytes();
    compiled =
      typeof WebAssembly === 'object' && WebAssembly.validate(bytes)
        ? new WebAssembly.Module(bytes)
        : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** An attention kernel for model width d (heads of width 4), or null when it cannot run here. */
export function createWasmAttention(d: number): WasmAttention | null {
  if (d % 4 !== 0 || d <= 0) return null;
  const module = compile();
  if (!module) return null;
  const instance = new WebAssembly.Instance(module, {});
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  const attend = instance.exports['attend'] as (
    qkv: number,
    out: number,
    n: number,
    d: number,
  ) => void;
  let capacity = 0;
  let qkvAt = SCRATCH_BYTES;
  let outAt = SCRATCH_BYTES;
  const kernel = {
    qkv: new Float32Array(0),
    out: new Float32Array(0),
    reserve(n: number): void {
      if (n <= capacity) return;
      const qkvBytes = n * 32 * 3 * d * 4;
      const outBytes = n * 32 * d * 4;
      const need = SCRATCH_BYTES + qkvBytes + outBytes;
      if (memory.buffer.byteLength < need)
        memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
      qkvAt = SCRATCH_BYTES;
      outAt = SCRATCH_BYTES + qkvBytes;
      kernel.qkv = new Float32Array(memory.buffer, qkvAt, n * 32 * 3 * d);
      kernel.out = new Float32Array(memory.buffer, outAt, n * 32 * d);
      capacity = n;
    },
    attend(n: number): void {
      if (n < 1) return;
      if (n > capacity) throw new Error(`attend: ${n} positions, room reserved for ${capacity}`);
      attend(qkvAt, outAt, n, d);
    },
  };
  return kernel;
}
