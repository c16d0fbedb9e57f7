// The safetensors file format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?},
// then the raw little-endian tensor bytes, offsets relative to the end of the header.
// No maintained JS package for reading and writing it is available here, and the format is small.

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, { shape: number[]; dtype: SafetensorsDtype; data: Float32Array }>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
// A header bigger than this is a corrupt length field, not a real file.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decode(dtype: SafetensorsDtype, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const u32 = new Uint32Array(count);
      for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
      out.set(new Float32Array(u32.buffer));
      break;
    }
  }
  return out;
}

export function readSafetensors(buffer: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  if (buffer.byteLength < 8)
    throw new Error(`${source}: too short to be a safetensors file (${buffer.byteLength} bytes)`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > buffer.byteLength) {
    throw new Error(
      `${source}: header length ${headerLength} does not fit in a ${buffer.byteLength}-byte file`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buffer.subarray(8, 8 + headerLength))) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new Error(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = buffer.byteLength - dataStart;
  const tensors: SafetensorsFile['tensors'] = new Map();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = info.dtype as SafetensorsDtype;
    if (!(dtype in BYTES)) {
      throw new Error(
        `${source}: tensor "${name}" has dtype ${String(info.dtype)}; only F32, F16, BF16 and F64 are supported`,
      );
    }
    const shape = info.shape;
    const offsets = info.data_offsets;
    if (!Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) {
      throw new Error(`${source}: tensor "${name}" lacks a shape or data_offsets`);
    }
    const [begin, end] = offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype] || begin < 0 || end > dataLength) {
      throw new Error(
        `${source}: tensor "${name}" spans bytes [${begin}, ${end}) but shape [${shape.join(', ')}] of ${dtype} needs ${count * BYTES[dtype]} bytes within ${dataLength}`,
      );
    }
    spans.push([begin, end, name]);
    tensors.set(name, {
      shape,
      dtype,
      data: decode(dtype, buffer.subarray(dataStart + begin, dataStart + end), count),
    });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1] as [number, number, string];
    const cur = spans[i] as [number, number, string];
    if (cur[0] < prev[1])
      throw new Error(`${source}: tensors "${prev[2]}" and "${cur[2]}" overlap`);
  }
  return { tensors, metadata };
}

/** Serialises float32 tensors; the header is space-padded to 8 bytes so data starts aligned, like the Rust writer. */
export function writeSafetensors(
  tensors: NamedTensor[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) {
      throw new Error(
        `tensor "${t.name}" has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${count}`,
      );
    }
    if (t.name in header) throw new Error(`tensor name "${t.name}" appears twice`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  const jsonLength = encoder.encode(json).byteLength;
  json += ' '.repeat((8 - (jsonLength % 8)) % 8);
  const headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + i * 4, t.data[i] as number, true);
    pos += t.data.length * 4;
  }
  return out;
}
