/**
 * The frozen, pre-trained surrogate network whose gradients drive the regime A and B attacks (the original:
 * MNIST the width-100 CNN, CIFAR-10 AlexNet). It is trained here, in train, and an attack receives it trained
 * (`AttackContext.surrogate`): src/attacks trains nothing. Trained with the project's one protocol, `fit()`
 * and stored as a checkpoint whose metadata says what it was trained on, so that it is never used
 * on data of another shape or class count; or imported from a PyTorch state_dict (.pth, .safetensors,
 * e.g. the original's own MNIST surrogate), whose metadata is filled from the model and the data it
 * is used with.
 */
import type * as tf from '@tensorflow/tfjs';
import { type Dataset, type DatasetSplit, numClasses, sampleSize } from '../data/dataset.js';
import { type DatasetDefaults, datasetDefaults } from '../data/defaults.js';
import { createModel, modelInfo } from '../models/index.js';
import type { InputNormalizationSpec } from '../models/normalize.js';
import { check, checkNumber } from '../util/errors.js';
import { saveCheckpoint } from './checkpoint.js';
import { evaluate } from './evaluate.js';
import { fit } from './fit.js';
import { type LoadedModel, loadModelFile, weightsFormat } from './torch-checkpoint.js';
import type { EpochMetrics, TrainResult } from './types.js';

/**
 * What a surrogate checkpoint records besides its weights. The training fields are null for a surrogate
 * imported from another tool (see `source`), whose training poisonlab does not know.
 */
export interface SurrogateMeta {
  kind: 'poisonlab-surrogate';
  /** The dataset spec it was trained on, e.g. `mnist` (an imported one: the dataset it is used with). */
  dataset: string;
  model: string;
  width: number | null;
  seed: number | null;
  epochs: number | null;
  lr: number | null;
  batchSize: number | null;
  trainSamples: number | null;
  /** Test images its accuracy was measured on (absent in older files and for imported surrogates). */
  testSamples?: number;
  testAccuracy: number | null;
  testLoss: number | null;
  inputShape: number[];
  classNames: string[];
  /** The learning-rate schedule and momentum of its training (absent: constant rate, plain SGD). */
  lrDecay?: { every: number; factor: number };
  momentum?: number;
  /** The input normalisation in its forward (absent: raw pixels); the attack bypasses it unless told otherwise. */
  normalize?: InputNormalizationSpec;
  /** The data source it was trained on (e.g. the official CIFAR-10 binaries or the JPEG copy). */
  dataSource?: string;
  /** Seconds its training took. */
  trainSeconds?: number;
  /** The stated recipe it was made by (surrogate-recipes.ts) and that recipe's hash (with its data source). */
  recipe?: string;
  recipeHash?: string;
  /** Where an imported surrogate came from (absent for one trained by poisonlab). */
  source?: { path: string; format: 'pth' | 'safetensors' | 'npz' };
}

/** The metadata of a surrogate poisonlab trained: every training field known. */
export type TrainedSurrogateMeta = SurrogateMeta & {
  [K in 'seed' | 'epochs' | 'lr' | 'batchSize' | 'trainSamples' | 'testAccuracy' | 'testLoss']: number;
};

/** Which model a surrogate file holds when the file does not say (PyTorch state_dicts). */
export interface SurrogateHints {
  model?: string;
  width?: number;
}

/** The original's surrogate per dataset: MNIST the width-100 CNN (lr 0.1), CIFAR-10 AlexNet (lr 0.01). */
export function surrogateDefaults(datasetSpec: string, expected?: string): DatasetDefaults['surrogate'] {
  return datasetDefaults(datasetSpec, expected).surrogate;
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
  /** Step decay of the learning rate (TrainOptions.lrDecay); absent: constant. */
  lrDecay?: { every: number; factor: number };
  /** SGD momentum (default 0). */
  momentum?: number;
  /** Input normalisation as the model's first layer (absent: raw pixels). */
  normalize?: InputNormalizationSpec;
  /** Recorded in the metadata: where the data came from. */
  dataSource?: string;
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
): Promise<{ model: tf.LayersModel; meta: TrainedSurrogateMeta; result: TrainResult }> {
  // Only a missing model or rate asks the dataset's defaults (a dataset without them: one line asking for both).
  const defaults = () => surrogateDefaults(opts.dataset, 'the surrogate model and learning rate');
  const name = opts.model ?? defaults().model;
  const width = opts.width ?? (opts.model === undefined ? defaults().width : undefined);
  const epochs = checkNumber(opts.epochs ?? 10, 'surrogate epochs', { min: 1, integer: true });
  const lr = checkNumber(opts.lr ?? defaults().lr, 'surrogate learning rate', { min: 0 });
  const batchSize = checkNumber(opts.batchSize ?? 128, 'surrogate batch size', { min: 1, integer: true });
  const seed = checkNumber(opts.seed ?? 0, 'surrogate seed', { min: 0, integer: true });
  const model = createModel(name, {
    ...(width !== undefined && { width }),
    inputShape: [...data.train.sampleShape],
    numClasses: numClasses(data.train),
    seed,
    ...(opts.normalize && { normalize: opts.normalize }),
  });
  // The paper's surrogate protocol: plain SGD on the whole training set, no validation, no early stopping.
  const result = await fit(
    model,
    data.train,
    {
      lr,
      batchSize,
      maxEpochs: epochs,
      ...(opts.lrDecay && { lrDecay: opts.lrDecay }),
      ...(opts.momentum !== undefined && { momentum: opts.momentum }),
    },
    {
      seed,
      ...(opts.onEpoch && { onEpoch: opts.onEpoch }),
      ...(opts.onBatch && { onBatch: opts.onBatch }),
    },
  );
  const test = evaluate(model, data.test);
  const meta: TrainedSurrogateMeta = {
    kind: 'poisonlab-surrogate',
    dataset: opts.dataset,
    model: name,
    width: width ?? null,
    seed,
    epochs,
    lr,
    batchSize,
    trainSamples: data.train.y.length,
    testSamples: data.test.y.length,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    inputShape: [...data.train.sampleShape],
    classNames: [...data.train.classNames],
    ...(opts.lrDecay && { lrDecay: opts.lrDecay }),
    ...(opts.momentum !== undefined && { momentum: opts.momentum }),
    ...(opts.normalize && { normalize: opts.normalize }),
    ...(opts.dataSource !== undefined && { dataSource: opts.dataSource }),
    trainSeconds: result.seconds,
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
 * Load a surrogate: a poisonlab surrogate checkpoint (.npz), or a PyTorch state_dict (.pth / .pt /
 * .safetensors, or an .npz that `poisonlab convert` made of one), whose model is `hints` or what its
 * shapes say and whose metadata is filled from the model and `data`. When `data` is given, check that
 * the surrogate takes samples of its shape and its number of classes (a one-line error otherwise).
 */
export function loadSurrogate(
  path: string,
  data?: Dataset,
  hints: SurrogateHints = {},
): { model: tf.LayersModel; meta: SurrogateMeta } {
  const format = weightsFormat(path);
  const loaded = loadModelFile(path, {
    ...(format !== 'npz' && hints),
    ...(format !== 'npz' && data && { inputShape: [...data.sampleShape], numClasses: numClasses(data) }),
  });
  const { model } = loaded;
  try {
    const stored = (loaded.meta?.['surrogate'] ?? undefined) as Partial<SurrogateMeta> | undefined;
    let meta: SurrogateMeta;
    if (stored && Array.isArray(stored.inputShape) && Array.isArray(stored.classNames)) {
      meta = stored as SurrogateMeta;
    } else {
      check(
        format !== 'npz' || loaded.meta?.['imported'] !== undefined,
        `${path}: not a surrogate checkpoint (expected surrogate metadata: make one with 'poisonlab surrogate train', ` +
          'or give a PyTorch state_dict (.pth, .safetensors))',
      );
      meta = importedMeta(path, format, loaded, data);
    }
    if (data) checkSurrogateMeta(meta, data, path);
    return { model, meta };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Surrogate metadata for an imported model: its architecture, and the data it is used with. */
function importedMeta(
  path: string,
  format: 'npz' | 'pth' | 'safetensors',
  loaded: LoadedModel,
  data: Dataset | undefined,
): SurrogateMeta {
  const { options } = modelInfo(loaded.model)!;
  return {
    kind: 'poisonlab-surrogate',
    dataset: data?.name ?? 'unknown',
    model: loaded.name,
    width: loaded.width ?? null,
    seed: null,
    epochs: null,
    lr: null,
    batchSize: null,
    trainSamples: null,
    testAccuracy: null,
    testLoss: null,
    inputShape: [...options.inputShape],
    classNames: data ? [...data.classNames] : Array.from({ length: options.numClasses }, (_, k) => String(k)),
    source: { path, format },
  };
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
