import { PoisonlabError } from '../util/errors.js';

/** A dense n-dimensional array as numpy sees it: flat row-major data plus a shape. */
export interface NdArray {
  data: Float32Array | Int32Array | Uint8Array | Float64Array;
  shape: number[];
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function descrOf(data: NdArray['data']): string {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Float64Array) return '<f8';
  return '|u1';
}

/** Encode an array as a version-1.0 .npy file (little-endian, C order). */
export function encodeNpy(arr: NdArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new PoisonlabError(
      `npy encode: shape [${arr.shape}] holds ${count} values, data has ${arr.data.length}`,
    );
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  return withHeader(
    `{'descr': '${descrOf(arr.data)}', 'fortran_order': False, 'shape': ${shape}, }`,
    bytesOf(arr.data),
  );
}

/** Encode a string as a 0-d numpy unicode array (`np.load(...)['meta']` gives the string back). */
export function encodeNpyString(text: string): Uint8Array {
  const codepoints = Array.from(text, (ch) => ch.codePointAt(0)!);
  const body = new Uint32Array(Math.max(1, codepoints.length));
  body.set(codepoints);
  return withHeader(`{'descr': '<U${body.length}', 'fortran_order': False, 'shape': (), }`, bytesOf(body));
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function withHeader(dict: string, body: Uint8Array): Uint8Array {
  // Header (magic, version, length, dict) padded with spaces to a multiple of 64 bytes, ending in '\n'.
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const padded = Math.ceil(unpadded / 64) * 64;
  const header = dict + ' '.repeat(padded - unpadded) + '\n';
  const out = new Uint8Array(padded + body.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, padded);
  return out;
}

/** The parsed contents of a .npy file: a numeric array or (for unicode scalars) a string. */
export type NpyValue = { kind: 'array'; array: NdArray } | { kind: 'string'; text: string };

/** Decode a .npy file; `what` names it in errors. Supports f4, f8, i4, i8 (range-checked to int32), u1, b1, U. */
export function decodeNpy(bytes: Uint8Array, what: string): NpyValue {
  const fail = (why: string): never => {
    throw new PoisonlabError(`${what}: not a valid .npy array (${why})`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('missing the \\x93NUMPY magic');
  const major = bytes[6]!;
  const headerLen =
    major === 1
      ? bytes[8]! | (bytes[9]! << 8)
      : new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) fail('truncated header');
  const header = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? fail('no descr');
  if (/'fortran_order':\s*True/.test(header)) fail('Fortran order is not supported');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail('no shape');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLen);
  const copy = (size: number): ArrayBuffer => {
    if (body.length < count * size)
      fail(`truncated data: expected ${count * size} bytes, found ${body.length}`);
    return body.slice(0, count * size).buffer;
  };
  if (descr.startsWith('<U')) {
    const width = Number(descr.slice(2));
    const cps = new Uint32Array(copy(4 * width));
    let text = '';
    for (const cp of cps) if (cp !== 0) text += String.fromCodePoint(cp);
    return { kind: 'string', text };
  }
  switch (descr) {
    case '<f4':
      return { kind: 'array', array: { data: new Float32Array(copy(4)), shape } };
    case '<f8':
      return { kind: 'array', array: { data: new Float64Array(copy(8)), shape } };
    case '<i4':
      return { kind: 'array', array: { data: new Int32Array(copy(4)), shape } };
    case '<i8': {
      const wide = new BigInt64Array(copy(8));
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = Number(wide[i]!);
        if (v > 2147483647 || v < -2147483648) fail(`int64 value ${v} does not fit int32`);
        data[i] = v;
      }
      return { kind: 'array', array: { data, shape } };
    }
    case '|u1':
    case '|b1':
      return { kind: 'array', array: { data: new Uint8Array(copy(1)), shape } };
    default:
      return fail(`unsupported dtype ${descr}; expected one of <f4 <f8 <i4 <i8 |u1 |b1 <U`);
  }
}

const ITEM_SIZE: Readonly<Record<string, number>> = {
  '<f4': 4,
  '<f8': 8,
  '<i4': 4,
  '<i8': 8,
  '|u1': 1,
  '|b1': 1,
};

/** What the header of a .npy file says its whole file holds. */
export interface NpyHeaderSize {
  /** Bytes of the whole file (header and data) the header implies. */
  size: number;
  descr: string;
  shape: number[];
}

/**
 * From the first bytes of a .npy file: the file size its header implies; 'more' while the header is not
 * complete; undefined for a header this cannot size (decodeNpy then says what is wrong with it).
 */
export function npyHeaderSize(head: Uint8Array): NpyHeaderSize | 'more' | undefined {
  if (head.length < 12) return 'more';
  if (MAGIC.some((b, i) => head[i] !== b)) return undefined;
  const major = head[6]!;
  const start = major === 1 ? 10 : 12;
  const headerLen =
    major === 1
      ? head[8]! | (head[9]! << 8)
      : new DataView(head.buffer, head.byteOffset + 8, 4).getUint32(0, true);
  if (headerLen > 1 << 20) return undefined; // numpy's headers are a few hundred bytes
  if (head.length < start + headerLen) return 'more';
  const header = new TextDecoder('latin1').decode(head.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) return undefined;
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return undefined;
  const item = descr.startsWith('<U') ? 4 * Number(descr.slice(2)) : ITEM_SIZE[descr];
  if (item === undefined || !Number.isSafeInteger(item)) return undefined;
  const size = start + headerLen + shape.reduce((a, b) => a * b, item);
  return Number.isSafeInteger(size) ? { size, descr, shape } : undefined;
}
