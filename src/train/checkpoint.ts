import * as tf from '@tensorflow/tfjs';
import { type NdArray, readNpz, writeNpz } from '../io/npz.js';
import { createModel, type ModelOptions, modelInfo } from '../models/registry.js';
import { check, PoisonlabError } from '../util/errors.js';

/** Version of the checkpoint layout written in `meta.checkpoint`. */
export const CHECKPOINT_VERSION = 1;

/** What a checkpoint's `meta` entry holds: how to rebuild the model, plus whatever the caller adds. */
export interface CheckpointMeta {
  checkpoint: number;
  model: { name: string; options: ModelOptions };
  /** Weight entry names, in the model's weight order. */
  weights: string[];
  [key: string]: unknown;
}

/** Entry name of a weight in the .npz: its tfjs name with '/' as '.', e.g. `conv1.kernel`, `fc2.bias`. */
export function weightKey(originalName: string): string {
  return originalName.replace(/\//g, '.');
}

/**
 * Save `model` (built by createModel) as a numpy-readable .npz, atomically: one float32 array per weight
 * (batch-norm running statistics included) named by weightKey, plus a JSON `meta` entry with the model's
 * registry name and creation options (so loadCheckpoint can rebuild it) and the caller's `meta`
 * (dataset, seed, metrics, ...).
 */
export function saveCheckpoint(path: string, model: tf.LayersModel, meta: object = {}): void {
  const info = modelInfo(model);
  check(info, `${path}: cannot save a checkpoint of a model that createModel did not build`);
  const entries: Record<string, NdArray> = {};
  const names: string[] = [];
  for (const w of model.weights) {
    const key = weightKey(w.originalName);
    entries[key] = { data: w.read().dataSync() as Float32Array, shape: [...w.shape] as number[] };
    names.push(key);
  }
  const full: CheckpointMeta = {
    ...meta,
    checkpoint: CHECKPOINT_VERSION,
    model: { name: info.name, options: info.options },
    weights: names,
  };
  writeNpz(path, entries, full);
}

/**
 * Load a checkpoint written by saveCheckpoint: rebuild the model with createModel from its meta and set
 * every weight. A corrupt or truncated file, a missing meta, a missing weight or a shape mismatch gives a
 * one-line PoisonlabError naming the file and what was expected.
 */
export function loadCheckpoint(path: string): { model: tf.LayersModel; meta: CheckpointMeta } {
  const { arrays, meta } = readNpz(path);
  const m = meta as Partial<CheckpointMeta> | undefined;
  check(
    m && typeof m === 'object' && typeof m.model?.name === 'string' && typeof m.model.options === 'object',
    `${path}: not a poisonlab checkpoint (expected a 'meta' entry naming the model and its options)`,
  );
  let model: tf.LayersModel;
  try {
    model = createModel(m.model.name, m.model.options);
  } catch (e) {
    if (e instanceof PoisonlabError) throw new PoisonlabError(`${path}: ${e.message}`);
    throw e;
  }
  const values: tf.Tensor[] = [];
  try {
    for (const w of model.weights) {
      const key = weightKey(w.originalName);
      const arr = arrays[key];
      const expected = `[${w.shape.join(', ')}]`;
      check(arr, `${path}: weight '${key}' is missing, expected a float32 array of shape ${expected}`);
      check(
        arr.shape.length === w.shape.length && arr.shape.every((s, i) => s === w.shape[i]),
        `${path}: weight '${key}' has shape [${arr.shape.join(', ')}], expected ${expected} for model ${m.model.name}`,
      );
      check(
        arr.data instanceof Float32Array || arr.data instanceof Float64Array,
        `${path}: weight '${key}' is not a float array, expected float32`,
      );
      values.push(tf.tensor(Float32Array.from(arr.data), arr.shape, 'float32'));
    }
    model.weights.forEach((w, i) => {
      w.write(values[i]!);
    });
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    for (const v of values) v.dispose();
  }
  return { model, meta: m as CheckpointMeta };
}
