import { checkNumber } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { type Dataset, type DatasetSplit, validateDataset } from './dataset.js';

/** Options of the theory's toy data. */
export interface GaussianToyOptions {
  /** Number of points (default 1000). */
  n?: number;
  seed?: number;
  /** Distance of the class centres from the origin along the first axis (default 5). */
  center?: number;
  name?: string;
}

/**
 * The theory experiment's 2-D data: class 1 (label +1) ~ N((+c, 0), I), class 0 (label -1)
 * ~ N((-c, 0), I), c = 5; every point is then normalised to unit length, x / ||x||_2.
 * Exactly floor(n/2) points are class 0 and the rest class 1, in a seeded random order.
 */
export function gaussianToy(opts: GaussianToyOptions = {}): Dataset {
  const n = checkNumber(opts.n ?? 1000, 'toy sample count', { integer: true, min: 1 });
  const center = checkNumber(opts.center ?? 5, 'toy class centre', { min: 0 });
  const rng = new Rng(opts.seed ?? 0);
  const order = rng.permutation(n);
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = order[i]! < Math.floor(n / 2) ? 0 : 1;
    const sign = label === 1 ? 1 : -1;
    let a = sign * center + rng.normal();
    let b = rng.normal();
    const norm = Math.hypot(a, b) || 1; // a point exactly at the origin stays there (probability 0)
    a /= norm;
    b /= norm;
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = label;
  }
  return validateDataset({ name: opts.name ?? 'toy', x, y, sampleShape: [2], classNames: ['-1', '+1'] });
}

/** The toy's train/test pair: 1000 train and 200 test points by default, from independent streams. */
export function gaussianToySplit(
  opts: { trainSize?: number; testSize?: number; seed?: number; center?: number } = {},
): DatasetSplit {
  const seed = opts.seed ?? 0;
  return {
    train: gaussianToy({ n: opts.trainSize ?? 1000, seed, center: opts.center, name: 'toy/train' }),
    test: gaussianToy({
      n: opts.testSize ?? 200,
      seed: seed + 0x5eed,
      center: opts.center,
      name: 'toy/test',
    }),
  };
}
