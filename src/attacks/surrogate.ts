/**
 * The frozen, pre-trained surrogate network whose gradients drive the regime A and B attacks
 * (the original: MNIST the width-100 CNN, CIFAR-10 AlexNet). Trained with the project's `train()`
 * and stored as a checkpoint whose metadata says what it was trained on, so that it is never used
 * on data of another shape or class count.
 */
import type * as tf from '@tensorflow/tfjs';
import { type Dataset, type DatasetSplit, numClasses, sampleSize } from '../data/dataset.js';
import { createModel } from '../models/index.js';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { evaluate } from '../train/evaluate.js';
import { train } from '../train/train.js';
import type { EpochMetrics, TrainResult } from '../train/types.js';
import { check, checkNumber } from '../util/errors.js';

/** What a surrogate checkpoint records besides its weights. */
export interface SurrogateMeta {
  kind: 'poisonlab-surrogate';
  /** The dataset spec it was trained on, e.g. `mnist`. */
  dataset: string;
  model: string;
  width: number | null;
  seed: number;
  epochs: number;
  lr: number;
  batchSize: number;
  trainSamples: number;
  testAccuracy: number;
  testLoss: number;
  inputShape: number[];
  classNames: string[];
}

/** The original's surrogate per dataset: MNIST the width-100 CNN (lr 0.1), CIFAR-10 AlexNet (lr 0.01). */
export function surrogateDefaults(datasetSpec: string): { model: string; width?: number; lr: number } {
  return /cifar/i.test(datasetSpec) ? { model: 'alexnet', lr: 0.01 } : { model: 'cnn', width: 100, lr: 0.1 };
}

export interface SurrogateOptions {
  /** The dataset spec (recorded in the checkpoint; also picks the defaults). */
  dataset: string;
  model?: string;
  width?: number;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed?: number;
  onEpoch?: (metrics: EpochMetrics) => void;
  onBatch?: (done: number, total: number) => void;
}

/**
 * Train a surrogate on `data.train` with plain SGD (the paper's protocol, no early stopping) and
 * measure its clean test accuracy on `data.test`.
 */
export async function trainSurrogate(
  data: DatasetSplit,
  opts: SurrogateOptions,
): Promise<{ model: tf.LayersModel; meta: SurrogateMeta; result: TrainResult }> {
  const defaults = surrogateDefaults(opts.dataset);
  const name = opts.model ?? defaults.model;
  const width = opts.width ?? (opts.model === undefined ? defaults.width : undefined);
  const epochs = checkNumber(opts.epochs ?? 10, 'surrogate epochs', { min: 1, integer: true });
  const lr = checkNumber(opts.lr ?? defaults.lr, 'surrogate learning rate', { min: 0 });
  const batchSize = checkNumber(opts.batchSize ?? 128, 'surrogate batch size', { min: 1, integer: true });
  const seed = checkNumber(opts.seed ?? 0, 'surrogate seed', { min: 0, integer: true });
  const model = createModel(name, {
    ...(width !== undefined && { width }),
    inputShape: [...data.train.sampleShape],
    numClasses: numClasses(data.train),
    seed,
  });
  const result = await train(
    model,
    { train: data.train },
    {
      epochs,
      batchSize,
      lr,
      seed,
      ...(opts.onEpoch && { onEpoch: opts.onEpoch }),
      ...(opts.onBatch && { onBatch: opts.onBatch }),
    },
  );
  const test = evaluate(model, data.test);
  const meta: SurrogateMeta = {
    kind: 'poisonlab-surrogate',
    dataset: opts.dataset,
    model: name,
    width: width ?? null,
    seed,
    epochs,
    lr,
    batchSize,
    trainSamples: data.train.y.length,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    inputShape: [...data.train.sampleShape],
    classNames: [...data.train.classNames],
  };
  return { model, meta, result };
}

/**
 * Save a trained surrogate; its metadata goes under the checkpoint meta's `surrogate` key (the
 * checkpoint's own keys, e.g. `model`, stay the checkpoint's).
 */
export function saveSurrogate(path: string, model: tf.LayersModel, meta: SurrogateMeta): void {
  saveCheckpoint(path, model, { surrogate: meta });
}

/**
 * Load a surrogate checkpoint; when `data` is given, check that it was trained on samples of the
 * same shape and the same number of classes (a one-line error otherwise).
 */
export function loadSurrogate(path: string, data?: Dataset): { model: tf.LayersModel; meta: SurrogateMeta } {
  const { model, meta } = loadCheckpoint(path);
  const m = meta['surrogate'] as Partial<SurrogateMeta> | undefined;
  if (!(m && Array.isArray(m.inputShape) && Array.isArray(m.classNames))) {
    model.dispose();
    check(
      false,
      `${path}: not a surrogate checkpoint (no surrogate metadata; make one with 'poisonlab surrogate train')`,
    );
  }
  const full = m as SurrogateMeta;
  if (data) {
    try {
      checkSurrogateMeta(full, data, path);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return { model, meta: full };
}

/** One-line error unless the surrogate described by `meta` takes `data`'s samples and classes. */
export function checkSurrogateMeta(meta: SurrogateMeta, data: Dataset, path = 'surrogate'): void {
  const same =
    meta.inputShape.length === data.sampleShape.length &&
    meta.inputShape.every((v, i) => v === data.sampleShape[i]);
  check(
    same,
    `${path}: surrogate trained on samples of shape [${meta.inputShape}] (${meta.dataset}), ` +
      `but ${data.name} has samples of shape [${data.sampleShape}] (${sampleSize(data)} values)`,
  );
  check(
    meta.classNames.length === numClasses(data),
    `${path}: surrogate has ${meta.classNames.length} classes (${meta.dataset}), but ${data.name} has ${numClasses(data)}`,
  );
}
