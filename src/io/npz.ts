import { zipSync } from 'fflate';
import { writeFileAtomic } from '../util/atomic.js';
import { PoisonlabError } from '../util/errors.js';
import { decodeNpy, encodeNpy, encodeNpyString, type NdArray, npyHeaderSize } from './npy.js';
import { readFileBytes } from './read-bytes.js';
import { ZipReader, type ZipReadOptions } from './zip.js';

export type { NdArray } from './npy.js';

/**
 * Write a numpy `.npz` archive (uncompressed zip of `.npy` files, what `np.savez` writes), atomically.
 * `meta`, when given, is stored as a JSON string entry `meta`: in Python,
 * `json.loads(str(np.load(path)['meta']))`.
 */
export function writeNpz(path: string, entries: Record<string, NdArray>, meta?: object): void {
  const files: Record<string, [Uint8Array, { level: 0 }]> = {};
  for (const [name, arr] of Object.entries(entries)) files[`${name}.npy`] = [encodeNpy(arr), { level: 0 }];
  if (meta !== undefined) files['meta.npy'] = [encodeNpyString(JSON.stringify(meta)), { level: 0 }];
  writeFileAtomic(path, zipSync(files));
}

/**
 * Read an `.npz` archive written by numpy or by writeNpz. Errors name the file. Memory stays at what the file
 * honestly holds (see ./zip.ts): each `.npy` entry's declared size must equal what its header's shape implies,
 * checked as soon as the header is inflated, and inflation stops at the declared size.
 */
export function readNpz(
  path: string,
  opts: ZipReadOptions = {},
): { arrays: Record<string, NdArray>; meta?: unknown } {
  const zip = new ZipReader(readNpzBytes(path), path, opts);
  const arrays: Record<string, NdArray> = {};
  let meta: unknown;
  for (const file of zip.entries.keys()) {
    if (!file.endsWith('.npy')) continue;
    const name = file.slice(0, -4);
    const content = zip.read(file, (head, entry) => {
      const h = npyHeaderSize(head);
      if (h === 'more') return head.length >= entry.size;
      if (h === undefined) {
        decodeNpy(head, `${path}:${file}`); // names what is wrong with the header
        throw new PoisonlabError(`${path}:${file}: not a valid .npy array (expected a header numpy writes)`);
      }
      if (h.size !== entry.size)
        throw new PoisonlabError(
          `${path}: entry '${file}' declares ${entry.size} bytes, but its .npy header (${h.descr}, shape ` +
            `[${h.shape.join(', ')}]) implies ${h.size}; expected them equal`,
        );
      return true;
    });
    const value = decodeNpy(content, `${path}:${file}`);
    if (value.kind === 'string') {
      if (name !== 'meta') continue;
      try {
        meta = JSON.parse(value.text);
      } catch {
        throw new PoisonlabError(`${path}: entry 'meta' is not valid JSON`);
      }
    } else {
      arrays[name] = value.array;
    }
  }
  return meta === undefined ? { arrays } : { arrays, meta };
}

function readNpzBytes(path: string): Uint8Array {
  return readFileBytes(path, 'a .npz file');
}

/** The JSON `meta` entry of an `.npz` (see writeNpz) without inflating its arrays; undefined when it has none. */
export function readNpzMeta(path: string): unknown {
  const zip = new ZipReader(readNpzBytes(path), path);
  if (!zip.entries.has('meta.npy')) return undefined;
  const value = decodeNpy(zip.read('meta.npy'), `${path}:meta.npy`);
  if (value.kind !== 'string') return undefined;
  try {
    return JSON.parse(value.text);
  } catch {
    throw new PoisonlabError(`${path}: entry 'meta' is not valid JSON`);
  }
}
