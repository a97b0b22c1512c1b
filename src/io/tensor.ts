import { PoisonlabError } from '../util/errors.js';

/**
 * Element types of the tensors that the PyTorch and safetensors readers know, by their safetensors
 * names: 64/32/16-bit floats (F16 = IEEE half, BF16 = bfloat16), signed 64/32/16/8-bit integers,
 * unsigned bytes and booleans (one byte each).
 */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Whether `name` is one of the dtypes above. */
export function isDType(name: unknown): name is DType {
  return typeof name === 'string' && Object.hasOwn(DTYPE_SIZE, name);
}

/**
 * A dense tensor as stored on disk: its dtype, its shape and its elements in row-major (C) order as
 * little-endian bytes (`bytes.length === numel(shape) * DTYPE_SIZE[dtype]`).
 */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/** Whether this machine stores numbers little-endian (then float32 data is copied, not converted). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Number of elements of a shape (1 for a scalar, []). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A float32 tensor as a RawTensor (the bytes are copied). */
export function float32Tensor(data: Float32Array, shape: readonly number[]): RawTensor {
  if (data.length !== numel(shape))
    throw new PoisonlabError(
      `tensor: shape [${shape}] holds ${numel(shape)} values, data has ${data.length}`,
    );
  const bytes = new Uint8Array(data.length * 4);
  if (LITTLE_ENDIAN) bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  else {
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  }
  return { dtype: 'F32', shape: [...shape], bytes };
}

/** An int64 tensor (e.g. batch norm's `num_batches_tracked`) as a RawTensor. */
export function int64Tensor(values: readonly number[], shape: readonly number[]): RawTensor {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    view.setBigInt64(8 * i, BigInt(v), true);
  });
  return { dtype: 'I64', shape: [...shape], bytes };
}

/** IEEE 754 half (binary16) bits to a number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The elements of a tensor as float32 (what the models hold): floats are converted (F64 rounded,
 * F16/BF16 exactly), integers and booleans become their values (int64 values beyond 2^53 are rounded).
 */
export function toFloat32(t: RawTensor): Float32Array {
  const n = numel(t.shape);
  const size = DTYPE_SIZE[t.dtype];
  if (t.bytes.length !== n * size)
    throw new PoisonlabError(
      `tensor: ${t.dtype} shape [${t.shape}] needs ${n * size} bytes, has ${t.bytes.length}`,
    );
  if (t.dtype === 'F32' && LITTLE_ENDIAN) {
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(t.bytes);
    return out;
  }
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const out = new Float32Array(n);
  const f32 = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < n; i++) {
    const at = i * size;
    switch (t.dtype) {
      case 'F32':
        out[i] = view.getFloat32(at, true);
        break;
      case 'F64':
        out[i] = view.getFloat64(at, true);
        break;
      case 'F16':
        out[i] = halfToNumber(view.getUint16(at, true));
        break;
      case 'BF16':
        // bfloat16 is the top half of a float32
        f32.setUint32(0, view.getUint16(at, true) << 16);
        out[i] = f32.getFloat32(0);
        break;
      case 'I64':
        out[i] = Number(view.getBigInt64(at, true));
        break;
      case 'I32':
        out[i] = view.getInt32(at, true);
        break;
      case 'I16':
        out[i] = view.getInt16(at, true);
        break;
      case 'I8':
        out[i] = view.getInt8(at);
        break;
      case 'U8':
      case 'BOOL':
        out[i] = view.getUint8(at);
        break;
    }
  }
  return out;
}
