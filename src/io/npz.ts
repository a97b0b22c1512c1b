import { readFileSync } from 'node:fs';
import { unzipSync, zipSync } from 'fflate';
import { writeFileAtomic } from '../util/atomic.js';
import { fileSystemError, PoisonlabError } from '../util/errors.js';
import { decodeNpy, encodeNpy, encodeNpyString, type NdArray } from './npy.js';

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

/** Read an `.npz` archive written by numpy or by writeNpz. Errors name the file. */
export function readNpz(path: string): { arrays: Record<string, NdArray>; meta?: unknown } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw (
      fileSystemError(e, { path, expected: 'a .npz file' }) ??
      new PoisonlabError(`${path}: cannot read .npz file (${String(e)})`)
    );
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new PoisonlabError(`${path}: not a valid .npz (zip) archive (${(e as Error).message})`);
  }
  const arrays: Record<string, NdArray> = {};
  let meta: unknown;
  for (const [file, content] of Object.entries(files)) {
    if (!file.endsWith('.npy')) continue;
    const name = file.slice(0, -4);
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
