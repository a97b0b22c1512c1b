import { check } from '../util/errors.js';

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

/** Check the invariants of a dataset: sizes agree, labels in range, no NaN. */
export function validateDataset(ds: Dataset): Dataset {
  const n = ds.y.length;
  const d = sampleSize(ds);
  check(
    ds.x.length === n * d,
    `${ds.name}: expected ${n} x ${d} = ${n * d} values for ${n} labels of shape [${ds.sampleShape}], found ${ds.x.length}`,
  );
  const k = ds.classNames.length;
  for (let i = 0; i < n; i++) {
    const c = ds.y[i]!;
    check(c >= 0 && c < k, () => `${ds.name}: label ${c} of sample ${i} is outside [0, ${k})`);
  }
  for (let i = 0; i < ds.x.length; i++) {
    if (Number.isNaN(ds.x[i]!)) check(false, `${ds.name}: sample ${Math.floor(i / d)} contains NaN`);
  }
  return ds;
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
