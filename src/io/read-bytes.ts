import { readFileSync } from 'node:fs';
import { fileSystemError, PoisonlabError } from '../util/errors.js';

/**
 * A whole file's bytes as a plain Uint8Array view (a Buffer's slice() would not copy, and readers hand out
 * views of these bytes). A missing file, a folder or no permission is a one-line error naming the path and
 * `expected`, e.g. 'a .safetensors file'.
 */
export function readFileBytes(path: string, expected: string): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw (
      fileSystemError(e, { path, expected }) ??
      new PoisonlabError(`${path}: cannot read ${expected} (${String(e)}; expected a readable file)`)
    );
  }
}
