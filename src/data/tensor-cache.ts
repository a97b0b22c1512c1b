import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { bytesToUnit, plainBytes } from './bytes.js';
import type { Dataset } from './dataset.js';

/**
 * A binary cache of decoded 8-bit image datasets, so a folder of JPEGs is decoded once.
 *
 * File layout (little-endian): 8-byte magic `PLCACHE1`, u32 header length L, L bytes of JSON
 * header `{ key, name, n, sampleShape, classNames }`, zero padding to a multiple of 4, then n int32
 * labels, then n * prod(sampleShape) pixel bytes (value * 255; decoded back as byte / 255, which
 * reproduces the float32 pixels exactly).
 */
const MAGIC = 'PLCACHE1';

/** The cache directory: `explicit`, else $POISONLAB_CACHE, else ~/.cache/poisonlab. */
export function cacheDirectory(explicit?: string): string {
  return explicit ?? process.env.POISONLAB_CACHE ?? join(homedir(), '.cache', 'poisonlab');
}

/** The cache file for a key object (anything JSON-serialisable identifying the source and options). */
export function cacheFile(dir: string, prefix: string, key: unknown): { path: string; key: string } {
  const text = JSON.stringify(key);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 24);
  return { path: join(dir, `${prefix}-${hash}.bin`), key: text };
}

interface Header {
  key: string;
  name: string;
  n: number;
  sampleShape: number[];
  classNames: string[];
}

/** Write `ds` (pixels must be multiples of 1/255 in [0, 1]) to the cache file atomically. */
export function writeCache(path: string, key: string, ds: Dataset): void {
  const header: Header = {
    key,
    name: ds.name,
    n: ds.y.length,
    sampleShape: [...ds.sampleShape],
    classNames: [...ds.classNames],
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const headerEnd = 12 + json.length;
  const labelsAt = Math.ceil(headerEnd / 4) * 4;
  const pixelsAt = labelsAt + 4 * ds.y.length;
  const out = new Uint8Array(pixelsAt + ds.x.length);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength), labelsAt);
  for (let i = 0; i < ds.x.length; i++) out[pixelsAt + i] = Math.round(ds.x[i]! * 255);
  writeFileAtomic(path, out);
}

/** Read a cache file; undefined when it is missing, damaged, or was written for another key. */
export function readCache(path: string, key: string): Dataset | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const file = readFileSync(path);
    const bytes = plainBytes(file);
    if (bytes.length < 12 || file.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const len = file.readUInt32LE(8);
    const header = JSON.parse(file.toString('utf8', 12, 12 + len)) as Header;
    if (header.key !== key) return undefined;
    const d = header.sampleShape.reduce((a, b) => a * b, 1);
    const labelsAt = Math.ceil((12 + len) / 4) * 4;
    const pixelsAt = labelsAt + 4 * header.n;
    if (bytes.length !== pixelsAt + header.n * d) return undefined;
    const y = new Int32Array(bytes.buffer.slice(bytes.byteOffset + labelsAt, bytes.byteOffset + pixelsAt));
    const x = new Float32Array(header.n * d);
    bytesToUnit(bytes.subarray(pixelsAt), x);
    return { name: header.name, x, y, sampleShape: header.sampleShape, classNames: header.classNames };
  } catch {
    return undefined;
  }
}
