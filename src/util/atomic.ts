import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileSystemError } from './errors.js';

/**
 * Write a file atomically: write to a temporary sibling, then rename over the target, so a crash
 * never leaves a half-written output file behind.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path) || '.', { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    // named after the target: the temporary name means nothing to the user, and a full disk's error names no file
    throw fileSystemError(e, { path }) ?? e;
  }
}
