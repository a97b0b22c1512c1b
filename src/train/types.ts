import type * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/dataset.js';

/**
 * Loss of the task: K-class softmax cross-entropy; logistic loss for binary tasks on one logit; or 'bce-onehot',
 * PyTorch's BCEWithLogitsLoss on K logits against one-hot labels (the original toy's loss), the mean over the
 * batch and the K logits of softplus(f_k) - t_k f_k.
 */
export type LossKind = 'crossentropy' | 'logistic' | 'bce-onehot';

/** Which validation score picks the weights training ends with, and how often it is checked. */
export interface KeepBest {
  /** 'accuracy' (the default: highest validation accuracy) or 'loss' (lowest validation loss). */
  by: 'accuracy' | 'loss';
  /**
   * 'epoch' (the default): after every epoch; 'step': after every SGD step (the original toy's rule,
   * toy_gaussian_ntk.py lines 149-163). A tie counts as better in both (the later weights are kept).
   */
  every: 'epoch' | 'step';
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /**
   * Step decay of the learning rate: epoch e (1-based) runs at lr * factor^floor(e / every). With every 20 and
   * factor 0.5 this is the original's AlexNet schedule (advgencifar.py: `if (t+1) % 20 == 0: lr /= 2` at the top
   * of 0-based epoch t, so epochs 1-19 run at lr, 20-39 at lr / 2, ...). Absent: a constant rate.
   */
  lrDecay?: { every: number; factor: number };
  /** SGD momentum (0 = plain SGD as in the paper). */
  momentum?: number;
  /** L2 weight decay added to the gradient (0 in the paper). */
  weightDecay?: number;
  /** Early stopping: stop after this many epochs without a better validation accuracy, and restore the best weights. */
  patience?: number;
  /** Default: 'crossentropy' for models with K > 1 outputs, 'logistic' for one output. */
  loss?: LossKind;
  /** How the best-validation weights are chosen (default: by accuracy, every epoch); needs a validation set. */
  keepBest?: KeepBest;
  /** Seed of the minibatch order. */
  seed: number;
  /**
   * Adversarial training: each minibatch's inputs are replaced by `perturbBatch(model, xb, yb)` (returned as a new
   * tensor) before the SGD step. Forces the generic step strategy. Absent: the inputs as they are.
   */
  perturbBatch?: BatchPerturbation;
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
  /** With keepBest.every 'step': the SGD step (1-based, counted over all epochs) whose weights the model holds. */
  bestStep?: number;
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

/** What one SGD step reports about its batch (both owned by the caller). */
export interface StepResult {
  /** Mean loss of the batch, before the update. */
  loss: tf.Scalar;
  /** Number of correctly classified samples of the batch, before the update. */
  correct: tf.Scalar;
}

/** Inputs of a minibatch turned into what the SGD step sees (adversarial training), a new tensor. */
export type BatchPerturbation = (model: tf.LayersModel, xb: tf.Tensor, yb: tf.Tensor) => tf.Tensor;

/** One minibatch SGD step of a fixed model and optimiser: `xb` a batch of inputs, `yb` its class indices (int32). */
export type MinibatchStep = (xb: tf.Tensor, yb: tf.Tensor) => StepResult;
