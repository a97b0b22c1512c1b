import { createHash } from 'node:crypto';
import { readNpz } from '../io/npz.js';

/**
 * Content hash of an artifact .npz (a surrogate or a poison): sha256 over its arrays (name, dtype, shape, bytes)
 * in name order, without the `meta` entry (which holds timings). Two machines that rebuild an artifact from
 * the same config and seed get the same hash; a different hash means different numbers.
 */
export function artifactHash(path: string): string {
  return artifactInfo(path).contentHash;
}

/** An artifact's content hash (as artifactHash) and its `meta` entry, from one read of the file. */
export function artifactInfo(path: string): { contentHash: string; meta: unknown } {
  const { arrays, meta } = readNpz(path);
  const h = createHash('sha256');
  for (const name of Object.keys(arrays).sort()) {
    const a = arrays[name]!;
    h.update(`${name}\0${a.data.constructor.name}\0${a.shape.join(',')}\0`);
    h.update(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  }
  return { contentHash: h.digest('hex'), meta };
}
