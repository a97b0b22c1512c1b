/**
 * The one training protocol that `poisonlab train`, surrogate training and every sweep run share: an optional
 * stratified k-fold split of the (poisoned) training set with validation on one held-out fold, then minibatch
 * SGD with the protocol's rate, schedule, momentum, weight decay, early stopping and best-validation rule.
 * Callers say what their protocol is; how it is carried out exists here once.
 */
import type * as tf from '@tensorflow/tfjs';
import { type Dataset, numSamples } from '../data/dataset.js';
import { trainValSplit } from '../data/split.js';
import { train } from './train.js';
import type { EpochMetrics, KeepBest, LossKind, TrainOptions, TrainResult } from './types.js';

/** How a network is trained: the settings of a sweep config's `training` block, plus the split. */
export interface TrainingProtocol {
  lr: number;
  batchSize: number;
  /** Epochs at most (the paper: 1,000). */
  maxEpochs: number;
  /** Early stopping after this many epochs without a better validation score; absent: none. */
  patience?: number;
  momentum?: number;
  weightDecay?: number;
  lrDecay?: { every: number; factor: number };
  loss?: LossKind;
  keepBest?: KeepBest;
  /** Stratified k-fold: validate on fold `fold` of `k` (split seeded by `seed`); absent or k < 2: no validation. */
  folds?: { k: number; fold: number; seed: number };
}

/** What one fit adds to its protocol: the seed of the run, and how to follow and checkpoint it. */
export interface FitRun {
  /** Seed of the minibatch order (and of dropout masks). */
  seed: number;
  /** A test set evaluated after every epoch (the history's test columns). */
  test?: Dataset;
  checkpoint?: TrainOptions['checkpoint'];
  onEpoch?: (metrics: EpochMetrics) => void;
  onBatch?: (done: number, total: number) => void;
  /** Adversarial training: each minibatch's inputs as the step sees them (TrainOptions.perturbBatch). */
  perturbBatch?: TrainOptions['perturbBatch'];
  /** Told the sizes of the split before the first epoch (for a command's opening line). */
  onSplit?: (sizes: { train: number; val: number }) => void;
}

/** The train/validation split of a protocol: the held-out fold, or everything for training. */
export function protocolSplit(full: Dataset, p: TrainingProtocol): { train: Dataset; val?: Dataset } {
  return p.folds && p.folds.k >= 2
    ? trainValSplit(full, { folds: p.folds.k, fold: p.folds.fold, seed: p.folds.seed })
    : { train: full };
}

/** Train `model` in place on `full` with protocol `p`; returns the trainer's result (best-validation weights restored). */
export async function fit(
  model: tf.LayersModel,
  full: Dataset,
  p: TrainingProtocol,
  run: FitRun,
): Promise<TrainResult> {
  const split = { ...protocolSplit(full, p), ...(run.test && { test: run.test }) };
  run.onSplit?.({ train: numSamples(split.train), val: split.val ? numSamples(split.val) : 0 });
  return train(model, split, {
    epochs: p.maxEpochs,
    batchSize: p.batchSize,
    lr: p.lr,
    ...(p.momentum !== undefined && { momentum: p.momentum }),
    ...(p.weightDecay !== undefined && { weightDecay: p.weightDecay }),
    ...(p.lrDecay && { lrDecay: p.lrDecay }),
    ...(p.patience !== undefined && { patience: p.patience }),
    ...(p.loss !== undefined && { loss: p.loss }),
    ...(p.keepBest !== undefined && { keepBest: p.keepBest }),
    seed: run.seed,
    ...(run.checkpoint && { checkpoint: run.checkpoint }),
    ...(run.onEpoch && { onEpoch: run.onEpoch }),
    ...(run.onBatch && { onBatch: run.onBatch }),
    ...(run.perturbBatch && { perturbBatch: run.perturbBatch }),
  });
}
