/**
 * The projected gradient ascent shared by regimes A and B, as in the original:
 * delta starts at 0; each epoch visits the samples in a seeded random order in minibatches
 * (ceil(n / batch) steps); each step ascends the negated loss -CE(-f(x + delta), y) of the frozen
 * surrogate f on its minibatch,
 *     regime A:  delta_b += eta * grad_b
 *     regime B:  delta_i += eta * grad_i / ||grad_i||      (0 where grad_i = 0)
 * then clips x + delta to the pixel range; the projection onto the budget set runs once per epoch
 * (the original) or after every step.
 *
 * Everything stays on the tfjs backend. With projection per epoch, each step gathers its rows of
 * x and delta (O(batch)) and the new rows are collected; at the end of the epoch they are put back
 * in sample order with one gather (O(n)), since every sample is visited once per epoch. With
 * projection per step the full delta is needed after each step: a scatter plus a projection, O(n)
 * per step.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { negatedLossGradient, type Reduction, type SurrogateView } from './objective.js';

/** When the budget projection runs. */
export type ProjectEvery = 'epoch' | 'step';

export interface AscentOptions {
  epochs: number;
  /** Step size eta. */
  step: number;
  batchSize: number;
  seed: number;
  projectEvery: ProjectEvery;
  /** 'gradient': delta += eta * grad (regime A); 'normalised': per-sample unit gradient (regime B). */
  direction: 'gradient' | 'normalised';
  /** Range that x + delta is clipped to after every step (null: no clipping). */
  clip: readonly [number, number] | null;
  reduction: Reduction;
  /** How the surrogate is run in each step (inference mode on raw input by default; see SurrogateView). */
  surrogate?: SurrogateView;
  /** Projection onto the budget set; returns a new tensor and leaves its input alone. */
  project: (delta: tf.Tensor) => tf.Tensor;
  onProgress?: (stepDone: number, stepsTotal: number) => void;
}

/** The number of ascent steps in one epoch over n samples. */
export function stepsPerEpoch(n: number, batchSize: number): number {
  return Math.ceil(n / batchSize);
}

/** Divide each sample's gradient by its l2 norm (rows with a zero gradient stay 0). */
function normalisePerSample(g: tf.Tensor): tf.Tensor {
  const flat = g.reshape([g.shape[0]!, -1]);
  const norms = tf.sqrt(tf.sum(tf.square(flat), 1, true));
  return tf.divNoNan(flat, norms).reshape(g.shape);
}

/**
 * Run the ascent against `model` on samples `x` (first axis = samples, the model's input shape
 * after it) with labels `y`; returns the final perturbation delta (same shape as x; the caller owns
 * it). `x` and `y` are not modified.
 */
export function projectedGradientAscent(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  opts: AscentOptions,
): tf.Tensor {
  const n = x.shape[0]!;
  const rng = new Rng(opts.seed);
  const perEpoch = stepsPerEpoch(n, opts.batchSize);
  const total = opts.epochs * perEpoch;
  let delta: tf.Tensor = tf.zerosLike(x);
  let done = 0;

  const stepRows = (idx: tf.Tensor1D): tf.Tensor =>
    tf.tidy(() => {
      const xb = tf.gather(x, idx);
      const db = tf.gather(delta, idx);
      const yb = tf.gather(y, idx) as tf.Tensor1D;
      const g = negatedLossGradient(model, xb, db, yb, opts.reduction, opts.surrogate);
      const dir = opts.direction === 'normalised' ? normalisePerSample(g) : g;
      const next = tf.add(db, tf.mul(dir, opts.step));
      if (!opts.clip) return next;
      return tf.sub(tf.clipByValue(tf.add(xb, next), opts.clip[0], opts.clip[1]), xb);
    });

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    const order = rng.permutation(n);
    const parts: tf.Tensor[] = [];
    for (let s = 0; s < perEpoch; s++) {
      const rows = order.subarray(s * opts.batchSize, Math.min(n, (s + 1) * opts.batchSize));
      const idx = tf.tensor1d(rows, 'int32');
      const next = stepRows(idx);
      if (opts.projectEvery === 'step') {
        const updated = tf.tidy(() => tf.tensorScatterUpdate(delta, tf.expandDims(idx, 1), next));
        next.dispose();
        delta.dispose();
        delta = opts.project(updated);
        updated.dispose();
      } else {
        parts.push(next);
      }
      idx.dispose();
      done++;
      opts.onProgress?.(done, total);
    }
    if (opts.projectEvery === 'epoch') {
      const inverse = new Int32Array(n);
      for (let i = 0; i < n; i++) inverse[order[i]!] = i;
      const unpermuted = tf.tidy(() => tf.gather(tf.concat(parts, 0), tf.tensor1d(inverse, 'int32')));
      for (const p of parts) p.dispose();
      delta.dispose();
      delta = opts.project(unpermuted);
      unpermuted.dispose();
    }
  }
  return delta;
}
