import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { check, fileSystemError, PoisonlabError } from '../util/errors.js';
import { isCifarBinaryDir } from './cifar-binary.js';
import { isUnsafeTarPath, readTar } from './tar.js';

/** The official CIFAR-10 binary archive and its published md5. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** The folder the archive unpacks to. */
export const CIFAR10_BIN_FOLDER = 'cifar-10-batches-bin';

export interface FetchCifarOptions {
  /** A local .tar.gz file or an http(s) URL (default: the official URL). */
  from?: string;
  /** Where to extract (default ./data); the result is <dir>/cifar-10-batches-bin. */
  dir?: string;
  /** Expected md5 (default the official one); for tests with a locally built archive. */
  md5?: string;
  /** Called as bytes arrive (total is undefined when the server does not say). */
  onProgress?: (bytes: number, total: number | undefined) => void;
}

export interface FetchCifarResult {
  /** The extracted cifar-10-batches-bin folder. */
  dir: string;
  source: string;
  md5: string;
  archiveBytes: number;
  files: string[];
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Copy the source (URL or file) to `dest`, returning its md5 and size. */
async function download(
  source: string,
  dest: string,
  onProgress?: FetchCifarOptions['onProgress'],
): Promise<{ md5: string; bytes: number }> {
  let body: Readable;
  let total: number | undefined;
  if (isUrl(source)) {
    let res: Response;
    try {
      res = await fetch(source);
    } catch (e) {
      throw new PoisonlabError(`${source}: download failed (${(e as Error).cause ?? (e as Error).message})`);
    }
    check(res.ok && res.body, `${source}: download failed (HTTP ${res.status} ${res.statusText})`);
    const length = Number(res.headers.get('content-length'));
    total = Number.isFinite(length) && length > 0 ? length : undefined;
    body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  } else {
    check(
      existsSync(source),
      `${source}: archive file not found (expected a .tar.gz file or an http(s) URL)`,
    );
    body = createReadStream(source);
  }
  const hash = createHash('md5');
  let bytes = 0;
  body.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    onProgress?.(bytes, total);
  });
  try {
    await pipeline(body, createWriteStream(dest));
  } catch (e) {
    // a failed write is the target's (a full disk), anything else the source's
    const writing = (e as NodeJS.ErrnoException).syscall === 'write';
    throw (
      fileSystemError(e, writing ? { path: dest } : { path: source, expected: 'a .tar.gz archive' }) ??
      new PoisonlabError(`${source}: reading the archive failed (${(e as Error).message})`)
    );
  }
  return { md5: hash.digest('hex'), bytes };
}

/**
 * Download (or copy) the CIFAR-10 binary archive, check its md5, and extract
 * `cifar-10-batches-bin/` into `dir`. Nothing is left behind on failure: the archive goes to a
 * temporary file and the folder is extracted into a staging folder that is renamed into place
 * only when complete (replacing an older copy).
 */
export async function fetchCifar10(opts: FetchCifarOptions = {}): Promise<FetchCifarResult> {
  const source = opts.from ?? CIFAR10_URL;
  const expected = (opts.md5 ?? CIFAR10_MD5).toLowerCase();
  const dir = resolve(opts.dir ?? 'data');
  const dirExisted = existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const archive = join(dir, `.cifar-10-binary.tar.gz.part-${tag}`);
  const staging = join(dir, `.cifar-10-staging-${tag}`);
  try {
    const { md5, bytes } = await download(source, archive, opts.onProgress);
    check(
      md5 === expected,
      `${source}: md5 checksum is ${md5}, expected ${expected} (corrupt or wrong archive; nothing was extracted)`,
    );
    let tar: Uint8Array;
    try {
      tar = gunzipSync(readFileSync(archive));
    } catch (e) {
      throw new PoisonlabError(`${source}: not a valid .tar.gz archive (${(e as Error).message})`);
    }
    const files: string[] = [];
    for (const entry of readTar(tar, source)) {
      check(
        !isUnsafeTarPath(entry.path),
        `${source}: archive member '${entry.path}' points outside the target folder`,
      );
      if (entry.type === 'other' || !entry.path.startsWith(`${CIFAR10_BIN_FOLDER}/`)) continue;
      const out = join(staging, entry.path);
      if (entry.type === 'directory') {
        mkdirSync(out, { recursive: true });
      } else {
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, entry.data);
        files.push(entry.path);
      }
    }
    const extracted = join(staging, CIFAR10_BIN_FOLDER);
    check(
      isCifarBinaryDir(extracted),
      `${source}: archive lacks ${CIFAR10_BIN_FOLDER}/data_batch_1..5.bin and test_batch.bin`,
    );
    const target = join(dir, CIFAR10_BIN_FOLDER);
    rmSync(target, { recursive: true, force: true });
    renameSync(extracted, target);
    return { dir: target, source, md5, archiveBytes: bytes, files: files.sort() };
  } catch (e) {
    // A failed fetch leaves nothing behind, not even the folder it created.
    if (!dirExisted) rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(archive, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}
