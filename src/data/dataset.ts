import { check, PoisonlabError } from '../util/errors.js';

/**
 * A labelled dataset held in memory.
 *
 * - `x`: float32 samples, row-major N x H x W x C (NHWC, as tfjs wants). Image datasets hold raw
 *   pixels scaled to [0, 1] (not normalised), as the paper's attacks assume.
 * - `y`: class indices in [0, numClasses). Binary tasks have two classes; class 0 is the theory's
 *   label -1 and class 1 is +1, so the label flip y -> -y is the same as y -> (y + 1) mod 2.
 */
export interface Dataset {
  /** Human-readable name, e.g. `mnist/train` or `poisoned.npz`. */
  readonly name: string;
  readonly x: Float32Array;
  readonly y: Int32Array;
  /** Shape of one sample: [H, W, C] for images, [d] for vectors. */
  readonly sampleShape: readonly number[];
  /** One name per class; its length is the number of classes. */
  readonly classNames: readonly string[];
}

/** A train/test pair as shipped by a data source. */
export interface DatasetSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

export function numSamples(ds: Dataset): number {
  return ds.y.length;
}

export function sampleSize(ds: Dataset): number {
  return ds.sampleShape.reduce((a, b) => a * b, 1);
}

export function numClasses(ds: Dataset): number {
  return ds.classNames.length;
}

/**
 * Check the invariants of a dataset: sizes agree, labels in range, values finite and in the declared range.
 * Errors name `where` (default: the dataset's name; a reader passes the file's path).
 */
export function validateDataset(ds: Dataset, where: string = ds.name): Dataset {
  const n = ds.y.length;
  const d = sampleSize(ds);
  check(
    ds.x.length === n * d,
    `${where}: expected ${n} x ${d} = ${n * d} values for ${n} labels of shape [${ds.sampleShape}], found ${ds.x.length}`,
  );
  const k = ds.classNames.length;
  for (let i = 0; i < n; i++) {
    const c = ds.y[i]!;
    check(c >= 0 && c < k, () => `${where}: label ${c} of sample ${i} is outside [0, ${k})`);
  }
  checkSampleValues(ds.x, ds.sampleShape, where);
  return ds;
}

/**
 * The range a dataset's values are declared to lie in: images ([H, W, C] samples) hold raw pixels in [0, 1];
 * vectors (the theory's toy points) have no declared range, only finite values.
 */
export function declaredRange(sampleShape: readonly number[]): readonly [number, number] | null {
  return sampleShape.length === 3 ? [0, 1] : null;
}

/**
 * Refuse a set of samples (read from `where`, a file or dataset name) with a non-finite value or one outside the
 * declared range, naming the first bad value and its index, e.g. `p.npz: expected pixels in [0, 1], found 1.5 at
 * x[3, 0, 7, 0] (flat index 2359)`.
 */
export function checkSampleValues(x: ArrayLike<number>, sampleShape: readonly number[], where: string): void {
  const range = declaredRange(sampleShape);
  const [lo, hi] = range ?? [-Infinity, Infinity];
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    // written so that NaN fails too
    if (v >= lo && v <= hi && v !== Infinity && v !== -Infinity) continue;
    const wanted = range ? `pixels in [${lo}, ${hi}]` : 'finite values';
    throw new PoisonlabError(
      `${where}: expected ${wanted}, found ${v} at x[${multiIndex(i, sampleShape).join(', ')}] (flat index ${i})`,
    );
  }
}

/** The [sample, ...position] index of flat index `i` of samples of `sampleShape`. */
function multiIndex(i: number, sampleShape: readonly number[]): number[] {
  const index: number[] = [];
  let rest = i;
  for (let k = sampleShape.length - 1; k >= 0; k--) {
    index.unshift(rest % sampleShape[k]!);
    rest = Math.floor(rest / sampleShape[k]!);
  }
  return [rest, ...index];
}

/** The samples at `indices`, in that order, as a new dataset. */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const d = sampleSize(ds);
  const x = new Float32Array(indices.length * d);
  const y = new Int32Array(indices.length);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    x.set(ds.x.subarray(i * d, (i + 1) * d), j * d);
    y[j] = ds.y[i]!;
  }
  return { name, x, y, sampleShape: ds.sampleShape, classNames: ds.classNames };
}

/** The first `limit` samples (all when limit is undefined or larger than the dataset). */
export function take(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.y.length) return ds;
  const d = sampleSize(ds);
  return { ...ds, x: ds.x.slice(0, limit * d), y: ds.y.slice(0, limit) };
}
