import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import sharp from 'sharp';
import { check, checkNumber, PoisonlabError } from '../util/errors.js';
import { bytesToUnit } from './bytes.js';
import { type Dataset, type DatasetSplit, validateDataset } from './dataset.js';
import { cacheDirectory, cacheFile, readCache, writeCache } from './tensor-cache.js';

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp)$/i;

/** Options for loading an image-folder tree. */
export interface ImageFolderOptions {
  /** Keep only the first N images of each class (file names sorted), for fast tests. */
  limitPerClass?: number;
  /** Where decoded tensors are cached (default $POISONLAB_CACHE or ~/.cache/poisonlab). */
  cacheDir?: string;
  /** Set false to neither read nor write the cache. */
  cache?: boolean;
  /** Images decoded at once (sharp is asynchronous; default 4). */
  concurrency?: number;
  /** Called as images are decoded (not called on a cache hit). */
  onProgress?: (done: number, total: number) => void;
  /** Dataset name prefix (default: the folder's name). */
  name?: string;
}

/** True when `dir` has `train/` and `test/` sub-folders (the image-folder layout). */
export function isImageFolderTree(dir: string): boolean {
  return ['train', 'test'].every((s) => existsSync(join(dir, s)) && statSync(join(dir, s)).isDirectory());
}

interface Listing {
  classNames: string[];
  /** Files per class, sorted by name, already cut to limitPerClass. */
  files: string[][];
  newestMtimeMs: number;
}

function listSplit(dir: string, limitPerClass: number | undefined): Listing {
  check(existsSync(dir) && statSync(dir).isDirectory(), `${dir}: expected a directory of class folders`);
  const classNames = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  check(classNames.length > 0, `${dir}: expected one sub-folder per class, found none`);
  let newestMtimeMs = 0;
  const files = classNames.map((c) => {
    const classDir = join(dir, c);
    let names = readdirSync(classDir)
      .filter((f) => IMAGE_EXTENSIONS.test(f))
      .sort();
    check(names.length > 0, `${classDir}: class folder holds no .jpg/.jpeg/.png/.webp images`);
    if (limitPerClass !== undefined) names = names.slice(0, limitPerClass);
    return names.map((f) => {
      const path = join(classDir, f);
      newestMtimeMs = Math.max(newestMtimeMs, statSync(path).mtimeMs);
      return path;
    });
  });
  return { classNames, files, newestMtimeMs };
}

/**
 * Visit the classes round-robin (image i of every class, then image i + 1, ...), so that the
 * first N samples are balanced across classes: `limit` then takes a stratified prefix.
 */
function interleave(files: string[][]): { path: string; label: number }[] {
  const out: { path: string; label: number }[] = [];
  const longest = Math.max(...files.map((f) => f.length));
  for (let i = 0; i < longest; i++) {
    for (let c = 0; c < files.length; c++) {
      const path = files[c]![i];
      if (path !== undefined) out.push({ path, label: c });
    }
  }
  return out;
}

async function decodeImage(path: string, channels: number): Promise<{ data: Buffer; w: number; h: number }> {
  try {
    const { data, info } = await sharp(path)
      .removeAlpha()
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== channels)
      throw new Error(`decoded to ${info.channels} channels, expected ${channels}`);
    return { data, w: info.width, h: info.height };
  } catch (e) {
    throw new PoisonlabError(`${path}: cannot decode image (${(e as Error).message.split('\n')[0]})`);
  }
}

async function channelsOf(path: string): Promise<number> {
  try {
    const meta = await sharp(path).metadata();
    const colour = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    return colour === 1 ? 1 : 3;
  } catch (e) {
    throw new PoisonlabError(`${path}: cannot read image (${(e as Error).message.split('\n')[0]})`);
  }
}

async function decodeSplit(name: string, listing: Listing, opts: ImageFolderOptions): Promise<Dataset> {
  const items = interleave(listing.files);
  // Grayscale when the first image is; every image is then converted to that channel count.
  const channels = await channelsOf(items[0]!.path);
  const first = await decodeImage(items[0]!.path, channels);
  const { w, h } = first;
  const d = w * h * channels;
  const x = new Float32Array(items.length * d);
  const y = new Int32Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i]!;
      const img = await decodeImage(item.path, channels);
      check(
        img.w === w && img.h === h,
        `${item.path}: image is ${img.w}x${img.h}, expected ${w}x${h} like ${items[0]!.path} (all images must share one size)`,
      );
      bytesToUnit(img.data, x, i * d);
      y[i] = item.label;
      opts.onProgress?.(++done, items.length);
    }
  };
  const concurrency = checkNumber(opts.concurrency ?? 4, 'decode concurrency', { integer: true, min: 1 });
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return validateDataset({ name, x, y, sampleShape: [h, w, channels], classNames: listing.classNames });
}

/**
 * Load one split folder `<dir>/<class>/*.jpg|png`: classes sorted by name, images decoded with
 * sharp to RGB (or grayscale when the first image is), float32 NHWC in [0, 1], classes interleaved
 * round-robin. Decoded tensors are cached, keyed by absolute path, file count, newest mtime and
 * limitPerClass, so the second load skips decoding.
 */
export async function loadImageFolderSplit(dir: string, opts: ImageFolderOptions = {}): Promise<Dataset> {
  if (opts.limitPerClass !== undefined)
    checkNumber(opts.limitPerClass, 'limit per class', { integer: true, min: 1 });
  const abs = resolve(dir);
  const listing = listSplit(abs, opts.limitPerClass);
  const name = `${opts.name ?? basename(resolve(abs, '..'))}/${basename(abs)}`;
  const count = listing.files.reduce((a, f) => a + f.length, 0);
  const useCache = opts.cache !== false;
  const { path, key } = cacheFile(cacheDirectory(opts.cacheDir), 'imagefolder', {
    version: 1,
    dir: abs,
    count,
    newestMtimeMs: listing.newestMtimeMs,
    limitPerClass: opts.limitPerClass ?? null,
    classNames: listing.classNames,
  });
  if (useCache) {
    const hit = readCache(path, key);
    if (hit) return validateDataset({ ...hit, name });
  }
  const ds = await decodeSplit(name, listing, opts);
  if (useCache) {
    try {
      writeCache(path, key, ds);
    } catch {
      // An unwritable cache only costs time on the next load.
    }
  }
  return ds;
}

/** Load an image-folder tree with `train/` and `test/` splits; both must have the same classes. */
export async function loadImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<DatasetSplit> {
  check(isImageFolderTree(root), `${root}: expected train/ and test/ sub-folders of class folders`);
  const name = opts.name ?? basename(resolve(root));
  const train = await loadImageFolderSplit(join(root, 'train'), { ...opts, name });
  const test = await loadImageFolderSplit(join(root, 'test'), { ...opts, name });
  check(
    train.classNames.join('\n') === test.classNames.join('\n'),
    `${root}: test classes [${test.classNames}] differ from train classes [${train.classNames}]`,
  );
  return { train, test };
}
