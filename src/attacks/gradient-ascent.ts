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
 *
 * With a checkpoint, the state after an epoch (delta, the order generator, the epoch) is saved at most every
 * `everySeconds`, and a run that finds a save of the same fingerprint continues after its epoch: the numbers
 * are those of an uninterrupted run.
 */
import * as tf from '@tensorflow/tfjs';
import { PoisonlabError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { type AscentCheckpoint, loadAscentState, saveAscentState } from './ascent-state.js';
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
  /**
   * 'gradient': delta += eta * grad (regime A, and regime B's raw step rule); 'normalised': per-sample unit
   * gradient (regime B's normalised step rule).
   */
  direction: 'gradient' | 'normalised';
  /** Range that x + delta is clipped to after every step (null: no clipping). */
  clip: readonly [number, number] | null;
  reduction: Reduction;
  /** How the surrogate is run in each step (inference mode on raw input by default; see SurrogateView). */
  surrogate?: SurrogateView;
  /** Projection onto the budget set; returns a new tensor and leaves its input alone. */
  project: (delta: tf.Tensor) => tf.Tensor;
  onProgress?: (stepDone: number, stepsTotal: number) => void;
  /** Save the state at epoch ends and resume from a save (absent: neither). */
  checkpoint?: AscentCheckpoint;
  /** Further generators the steps draw from (a 'train'-mode surrogate's dropout masks): saved and resumed too. */
  streams?: readonly Pick<Rng, 'getState' | 'setState'>[];
}

/** Default seconds between two checkpoint saves of an ascent. */
export const ASCENT_CHECKPOINT_SECONDS = 60;

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

/** What an ascent returns. */
export interface AscentResult {
  /** The final perturbation (same shape as x; the caller owns it). */
  delta: tf.Tensor;
  /** The epoch it resumed after (0: it started afresh). */
  resumedEpoch: number;
  /** Seconds the earlier pieces of a resumed ascent took (0 when it started afresh). */
  priorSeconds: number;
}

/**
 * Run the ascent against `model` on samples `x` (first axis = samples, the model's input shape
 * after it) with labels `y`. `x` and `y` are not modified.
 */
export function projectedGradientAscent(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  opts: AscentOptions,
): AscentResult {
  const n = x.shape[0]!;
  const rng = new Rng(opts.seed);
  const perEpoch = stepsPerEpoch(n, opts.batchSize);
  const total = opts.epochs * perEpoch;
  const ckpt = opts.checkpoint;
  const saved = ckpt ? loadAscentState(ckpt, x.size) : undefined;
  let firstEpoch = 0;
  let delta: tf.Tensor;
  let seconds = 0;
  let resumedEpoch = 0;
  if (saved && saved.epoch <= opts.epochs) {
    rng.setState(saved.rng);
    const streams = opts.streams ?? [];
    if (streams.length !== saved.streams.length)
      throw new PoisonlabError(
        `${ckpt!.path}: attack checkpoint holds ${saved.streams.length} dropout streams, the surrogate has ${streams.length}; delete it to start the attack from epoch 0`,
      );
    streams.forEach((st, i) => {
      st.setState(saved.streams[i]!);
    });
    firstEpoch = saved.epoch;
    seconds = saved.seconds;
    resumedEpoch = saved.epoch;
    delta = tf.tensor(saved.delta, x.shape, 'float32');
  } else delta = tf.zerosLike(x);
  let done = firstEpoch * perEpoch;
  if (done > 0) opts.onProgress?.(done, total);
  let lastSave = performance.now();
  let pieceStart = performance.now();

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

  for (let epoch = firstEpoch; epoch < opts.epochs; epoch++) {
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
    const now = performance.now();
    const every = 1000 * (ckpt?.everySeconds ?? ASCENT_CHECKPOINT_SECONDS);
    if (ckpt && epoch + 1 < opts.epochs && now - lastSave >= every) {
      seconds += (now - pieceStart) / 1000;
      pieceStart = now;
      const state = delta.dataSync() as Float32Array;
      const streams = (opts.streams ?? []).map((st) => st.getState());
      saveAscentState(ckpt, { epoch: epoch + 1, delta: state, rng: rng.getState(), streams, seconds });
      lastSave = performance.now();
    }
  }
  return { delta, resumedEpoch, priorSeconds: resumedEpoch > 0 ? saved!.seconds : 0 };
}
