import { check, checkNumber } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { type Dataset, numClasses, subset } from './dataset.js';

/** The dataset's samples in a seeded random order (same seed, same order). */
export function shuffle(ds: Dataset, seed: number): Dataset {
  return subset(ds, new Rng(seed).permutation(ds.y.length));
}

/**
 * Stratified k-fold split: returns k lists of sample indices (each sorted ascending) that are
 * disjoint and together cover 0..n-1. Each class's samples are shuffled with `seed` and dealt out
 * round-robin, so every class's count differs by at most 1 between folds; the dealing starts where
 * the previous class stopped, so fold sizes also differ by at most 1.
 */
export function stratifiedKFold(y: Int32Array, k: number, seed: number): Int32Array[] {
  checkNumber(k, 'number of folds', { integer: true, min: 2 });
  check(k <= y.length, `number of folds: expected at most the ${y.length} samples, got ${k}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  const rng = new Rng(seed);
  const folds: number[][] = Array.from({ length: k }, () => []);
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(c)!;
    const order = rng.permutation(members.length);
    for (let j = 0; j < members.length; j++) {
      folds[next]!.push(members[order[j]!]!);
      next = (next + 1) % k;
    }
  }
  return folds.map((f) => Int32Array.from(f).sort());
}

/** Options of trainValSplit: k folds, which one is held out, and the seed of the split. */
export interface TrainValOptions {
  folds: number;
  fold: number;
  seed: number;
}

/**
 * The paper's k-fold protocol: split `ds` into `folds` stratified folds (seeded), validate on
 * fold `fold` and train on the other k-1. Both parts keep the dataset's file order.
 */
export function trainValSplit(ds: Dataset, opts: TrainValOptions): { train: Dataset; val: Dataset } {
  checkNumber(opts.fold, 'validation fold', { integer: true, min: 0, max: opts.folds - 1 });
  check(numClasses(ds) > 0, `${ds.name}: has no classes`);
  const folds = stratifiedKFold(ds.y, opts.folds, opts.seed);
  const val = folds[opts.fold]!;
  const inVal = new Uint8Array(ds.y.length);
  for (const i of val) inVal[i] = 1;
  const trainIdx: number[] = [];
  for (let i = 0; i < ds.y.length; i++) if (!inVal[i]) trainIdx.push(i);
  const tag = `fold ${opts.fold}/${opts.folds}`;
  return {
    train: subset(ds, trainIdx, `${ds.name} (train, ${tag})`),
    val: subset(ds, val, `${ds.name} (val, ${tag})`),
  };
}
