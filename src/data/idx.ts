import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { inflateCap } from '../io/zip.js';
import { check, fileSystemError, PoisonlabError } from '../util/errors.js';
import { bytesToUnit, plainBytes } from './bytes.js';
import { type Dataset, type DatasetSplit, validateDataset } from './dataset.js';

/** IDX magic numbers: 0x00000803 (unsigned bytes, 3 dims) for images, 0x00000801 (1 dim) for labels. */
export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

/** A parsed IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Read a file, gunzipping it when it starts with the gzip magic bytes. Errors name the file. */
export function readMaybeGzip(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw (
      fileSystemError(e, { path, expected: 'an IDX file' }) ??
      new PoisonlabError(`${path}: cannot read file (${String(e)})`)
    );
  }
  if (!isGzip(bytes)) return plainBytes(bytes);
  // A small .gz may inflate to gigabytes: inflate the IDX header first, then at most the size it declares.
  const size = declaredIdxSize(path, bytes);
  const cap = inflateCap();
  check(
    size <= cap,
    `${path}: its IDX header declares ${size} bytes, more than half the free memory (${cap}); expected a smaller IDX file`,
  );
  try {
    return plainBytes(gunzipSync(bytes, { maxOutputLength: Math.max(1, size) }));
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new PoisonlabError(
        `${path}: the gzip data inflates past the ${size} bytes its IDX header declares; expected an IDX file of that size`,
      );
    throw new PoisonlabError(`${path}: corrupt gzip data (${(e as Error).message})`);
  }
}

/** Bytes per element of the IDX type codes (the magic number's third byte). */
const IDX_ELEMENT_BYTES: Record<number, number> = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 };

/** The size an IDX file declares in its header (magic and dimensions), read from the first inflated bytes. */
function declaredIdxSize(path: string, gz: Uint8Array): number {
  let head: Uint8Array;
  try {
    // The start of the stream only: a truncated input is fine with a sync flush.
    head = gunzipSync(gz.subarray(0, 4096), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch (e) {
    throw new PoisonlabError(`${path}: corrupt gzip data (${(e as Error).message})`);
  }
  check(head.length >= 4, `${path}: truncated IDX file (expected a 4-byte magic number after inflating)`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = head[2]!;
  const ndims = head[3]!;
  const element = IDX_ELEMENT_BYTES[type];
  check(
    head[0] === 0 && head[1] === 0 && element !== undefined && ndims >= 1,
    `${path}: expected an IDX magic number (0x0000 type dims), found 0x${view.getUint32(0, false).toString(16)}`,
  );
  check(head.length >= 4 + 4 * ndims, `${path}: truncated IDX header (expected ${ndims} dimensions)`);
  let size = element;
  for (let i = 0; i < ndims; i++) size *= view.getUint32(4 + 4 * i, false);
  return 4 + 4 * ndims + size;
}

/**
 * Parse an IDX file of unsigned bytes: big-endian magic, one u32 per dimension, then exactly
 * prod(dims) bytes. `what` names the file in errors; `magic` is the magic number expected.
 */
export function parseIdx(bytes: Uint8Array, what: string, magic: number): IdxArray {
  check(
    bytes.length >= 4,
    `${what}: truncated IDX file (${bytes.length} bytes, expected a 4-byte magic number)`,
  );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  check(found === magic, `${what}: expected IDX magic ${magic}, found ${found}`);
  const ndims = magic & 0xff;
  const headerLen = 4 + 4 * ndims;
  check(
    bytes.length >= headerLen,
    `${what}: truncated IDX header (${bytes.length} bytes, expected ${headerLen} for ${ndims} dimensions)`,
  );
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  for (const [i, d] of dims.entries()) check(d > 0 || i === 0, `${what}: dimension ${i} is 0, expected > 0`);
  const count = dims.reduce((a, b) => a * b, 1);
  const body = bytes.length - headerLen;
  check(
    body === count,
    `${what}: ${body < count ? 'truncated' : 'oversized'} IDX data: dims [${dims}] need ${count} bytes after the header, found ${body}`,
  );
  return { dims, data: plainBytes(bytes).subarray(headerLen) };
}

/** Decode IDX images (magic 2051) and labels (magic 2049) into a dataset with pixels in [0, 1], shape [rows, cols, 1]. */
export function idxToDataset(
  images: IdxArray,
  labels: IdxArray,
  info: { name: string; imagesFile: string; labelsFile: string; classNames?: readonly string[] },
): Dataset {
  const [n, rows, cols] = images.dims as [number, number, number];
  check(
    labels.dims[0] === n,
    `${info.labelsFile}: holds ${labels.dims[0]} labels, expected ${n} to match ${info.imagesFile}`,
  );
  const x = new Float32Array(images.data.length);
  bytesToUnit(images.data, x);
  const y = Int32Array.from(labels.data);
  let classNames = info.classNames;
  if (!classNames) {
    let max = -1;
    for (const c of y) if (c > max) max = c;
    classNames = Array.from({ length: max + 1 }, (_, c) => String(c));
  }
  return validateDataset({ name: info.name, x, y, sampleShape: [rows, cols, 1], classNames });
}

/** Load one IDX image file and its label file (each gzipped or not) as a dataset. */
export function loadIdxPair(
  imagesPath: string,
  labelsPath: string,
  name: string,
  classNames?: readonly string[],
): Dataset {
  const images = parseIdx(readMaybeGzip(imagesPath), imagesPath, IDX_IMAGES_MAGIC);
  const labels = parseIdx(readMaybeGzip(labelsPath), labelsPath, IDX_LABELS_MAGIC);
  return idxToDataset(images, labels, { name, imagesFile: imagesPath, labelsFile: labelsPath, classNames });
}

const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The path of `base` or `base.gz` inside `dir`, or undefined when neither exists. */
function findIdxFile(dir: string, base: string): string | undefined {
  for (const candidate of [base, `${base}.gz`])
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  return undefined;
}

/** True when `dir` holds the four MNIST-style IDX files (each possibly gzipped). */
export function isIdxDir(dir: string): boolean {
  return Object.values(IDX_FILES).every((f) => findIdxFile(dir, f) !== undefined);
}

/**
 * Load an MNIST-style directory: train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally with `.gz`.
 * Class names default to '0'..'K-1' (K = largest label + 1).
 */
export function loadIdxDir(
  dir: string,
  opts: { name?: string; classNames?: readonly string[] } = {},
): DatasetSplit {
  const path = (base: string) => {
    const found = findIdxFile(dir, base);
    check(found, `${dir}: IDX file ${base} (or ${base}.gz) not found`);
    return found;
  };
  const name = opts.name ?? basename(dir);
  const train = loadIdxPair(
    path(IDX_FILES.trainImages),
    path(IDX_FILES.trainLabels),
    `${name}/train`,
    opts.classNames,
  );
  const test = loadIdxPair(
    path(IDX_FILES.testImages),
    path(IDX_FILES.testLabels),
    `${name}/test`,
    opts.classNames ?? train.classNames,
  );
  return { train, test };
}
