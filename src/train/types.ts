import type { Dataset } from '../data/dataset.js';

/** Loss of the task: 10-class (or K-class) softmax cross-entropy, or logistic loss for binary tasks. */
export type LossKind = 'crossentropy' | 'logistic';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** SGD momentum (0 = plain SGD as in the paper). */
  momentum?: number;
  /** L2 weight decay added to the gradient (0 in the paper). */
  weightDecay?: number;
  /** Early stopping: stop after this many epochs without a better validation accuracy, and restore the best weights. */
  patience?: number;
  /** Default: 'crossentropy' for models with K > 1 outputs, 'logistic' for one output. */
  loss?: LossKind;
  /** Seed of the minibatch order. */
  seed: number;
  /** Called after every epoch with its metrics. */
  onEpoch?: (metrics: EpochMetrics) => void;
  /** Called after every minibatch (samples done in this epoch, samples per epoch). */
  onBatch?: (done: number, total: number) => void;
  /**
   * Per-epoch checkpoint: after every epoch the whole training state (weights, best-validation weights,
   * early-stopping state, history, momentum buffers, the minibatch-order and dropout generators) is written
   * to `path` (.npz, atomically). A call that finds a state there with the same `tag` and settings continues
   * after its last finished epoch, with the numbers of an uninterrupted run. The file is removed when
   * training ends. `everySeconds` (default 0: every epoch) skips the write until that long after the last.
   * `stop`, checked after every epoch: when it says so, the state is written at once (whatever `everySeconds`)
   * and training throws TrainingStopped, to be continued by a later call (a Slurm task before its time limit).
   */
  checkpoint?: { path: string; tag?: string; everySeconds?: number; stop?: () => boolean };
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  seconds: number;
}

export interface TrainResult {
  /** Epochs run. */
  epochs: number;
  /** The epoch (1-based) whose weights the model holds at the end (best validation accuracy, else the last). */
  bestEpoch: number;
  history: EpochMetrics[];
  /** Metrics of the final weights. */
  final: {
    trainLoss?: number;
    trainAccuracy?: number;
    valLoss?: number;
    valAccuracy?: number;
    testLoss?: number;
    testAccuracy?: number;
  };
  seconds: number;
  /** The epoch a checkpoint resumed after (0: trained from the start). */
  resumedAfter: number;
  /** Training samples processed per second (forward + backward + update), excluding evaluation. */
  samplesPerSecond: number;
}

export interface TrainData {
  train: Dataset;
  val?: Dataset;
  test?: Dataset;
}
