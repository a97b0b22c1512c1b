import { existsSync, rmSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs';
import { type NdArray, readNpz, writeNpz } from '../io/npz.js';
import { SeededDropout } from '../models/seeded-dropout.js';
import { PoisonlabError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { EpochMetrics } from './types.js';

/** Version of the training-state layout (meta.version). */
export const TRAIN_STATE_VERSION = 1;

/** The state of a training loop after a finished epoch: enough to continue it with the same numbers. */
export interface TrainState {
  /** Epochs finished. */
  epoch: number;
  bestEpoch: number;
  /** With keepBest every step: the step of the kept weights. */
  bestStep?: number;
  /** Best validation score so far (accuracy or loss; not finite before the first validation). */
  bestVal: number;
  trainSeconds: number;
  samples: number;
  history: EpochMetrics[];
  /** State of the minibatch-order generator (the next epoch's permutation comes from it). */
  rng: ReturnType<Rng['getState']>;
  /** States of the model's dropout mask streams, in layer order. */
  dropout: ReturnType<Rng['getState']>[];
  /** Every model weight (trainable or not), in model.weights order. */
  weights: Float32Array[];
  /** The best-validation weights, when kept. */
  best?: Float32Array[];
  /** Momentum buffers of the trainable variables, in their order (null: none yet). */
  velocities: (Float32Array | null)[];
}

interface StateMeta {
  kind: 'poisonlab-train-state';
  version: number;
  fingerprint: string;
  epoch: number;
  bestEpoch: number;
  bestStep?: number;
  bestVal: number | null;
  trainSeconds: number;
  samples: number;
  history: EpochMetrics[];
  rng: TrainState['rng'];
  dropout: TrainState['dropout'];
  hasBest: boolean;
  velocities: boolean[];
}

/** The dropout layers of a model whose mask streams a checkpoint must carry. */
export function dropoutLayers(model: tf.LayersModel): SeededDropout[] {
  return model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
}

/**
 * Write the training state to `path` (an .npz, atomically: a crash leaves the previous checkpoint or none).
 * `fingerprint` identifies the run and its settings; loadTrainState ignores a state with another one.
 */
export function saveTrainState(path: string, fingerprint: string, s: TrainState): void {
  const entries: Record<string, NdArray> = {};
  s.weights.forEach((w, i) => {
    entries[`weights.${i}`] = { data: w, shape: [w.length] };
  });
  s.best?.forEach((w, i) => {
    entries[`best.${i}`] = { data: w, shape: [w.length] };
  });
  s.velocities.forEach((v, i) => {
    if (v) entries[`velocity.${i}`] = { data: v, shape: [v.length] };
  });
  const meta: StateMeta = {
    kind: 'poisonlab-train-state',
    version: TRAIN_STATE_VERSION,
    fingerprint,
    epoch: s.epoch,
    bestEpoch: s.bestEpoch,
    ...(s.bestStep !== undefined && { bestStep: s.bestStep }),
    bestVal: Number.isFinite(s.bestVal) ? s.bestVal : null,
    trainSeconds: s.trainSeconds,
    samples: s.samples,
    history: s.history,
    rng: s.rng,
    dropout: s.dropout,
    hasBest: s.best !== undefined,
    velocities: s.velocities.map((v) => v !== null),
  };
  writeNpz(path, entries, meta);
}

/**
 * Read a training state written by saveTrainState. Returns undefined when there is no file, or when it was
 * written for another run or other settings (another `fingerprint`: the run starts from epoch 0 and the
 * file is overwritten). An unreadable file is a one-line error that says how to start over.
 */
export function loadTrainState(path: string, fingerprint: string): TrainState | undefined {
  if (!existsSync(path)) return undefined;
  let arrays: Record<string, NdArray>;
  let meta: StateMeta;
  try {
    const r = readNpz(path);
    arrays = r.arrays;
    meta = r.meta as StateMeta;
  } catch (e) {
    throw new PoisonlabError(
      `${path}: unreadable training checkpoint (${(e as Error).message}); delete it to start the run from epoch 0`,
    );
  }
  if (meta?.kind !== 'poisonlab-train-state' || meta.version !== TRAIN_STATE_VERSION)
    throw new PoisonlabError(
      `${path}: not a poisonlab training checkpoint (expected meta.kind 'poisonlab-train-state' version ${TRAIN_STATE_VERSION}); delete it to start the run from epoch 0`,
    );
  if (meta.fingerprint !== fingerprint) return undefined;
  const f32 = (key: string): Float32Array => {
    const a = arrays[key];
    if (!(a?.data instanceof Float32Array))
      throw new PoisonlabError(
        `${path}: training checkpoint entry '${key}' is missing or not float32; delete it to start the run from epoch 0`,
      );
    return a.data;
  };
  const count = (prefix: string) => Object.keys(arrays).filter((k) => k.startsWith(prefix)).length;
  const nWeights = count('weights.');
  const weights = Array.from({ length: nWeights }, (_, i) => f32(`weights.${i}`));
  return {
    epoch: meta.epoch,
    bestEpoch: meta.bestEpoch,
    ...(meta.bestStep !== undefined && { bestStep: meta.bestStep }),
    bestVal: meta.bestVal ?? Number.NEGATIVE_INFINITY,
    trainSeconds: meta.trainSeconds,
    samples: meta.samples,
    history: meta.history,
    rng: meta.rng,
    dropout: meta.dropout,
    weights,
    ...(meta.hasBest && { best: Array.from({ length: nWeights }, (_, i) => f32(`best.${i}`)) }),
    velocities: meta.velocities.map((has, i) => (has ? f32(`velocity.${i}`) : null)),
  };
}

/** Remove a checkpoint (training finished). */
export function removeTrainState(path: string): void {
  rmSync(path, { force: true });
}
