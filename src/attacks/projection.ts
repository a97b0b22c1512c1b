/**
 * Euclidean projections of a set of per-sample perturbations delta_1..delta_n (the rows of an
 * n x d array) onto the paper's two budget sets:
 *
 * - regime A, the l2,1 ball  { delta : sum_i ||delta_i||_2 <= R }  (R = C * sqrt(n));
 * - regime B, the per-sample l2 balls  { delta : ||delta_i||_2 <= B for every i }.
 *
 * The l2,1 projection is group soft-thresholding: the norms r_i = ||delta_i|| are projected onto
 * the l1 ball of radius R (Duchi, Shalev-Shwartz, Singer, Chandra 2008), which shrinks every norm
 * by one threshold tau >= 0, r_i' = max(r_i - tau, 0), and each row keeps its direction:
 * delta_i' = delta_i * (r_i - tau)_+ / r_i. With the norms sorted decreasingly, u_1 >= ... >= u_n,
 * and s_j = u_1 + ... + u_j,
 *     rho = max { j : u_j > (s_j - R) / j },   tau = (s_rho - R) / rho  =  max_j (s_j - R) / j,
 * and tau = 0 when the point is already inside (sum_i r_i <= R). Rows with r_i <= tau become
 * exactly 0, which is why the regime-A attack concentrates its budget on few samples.
 *
 * Two implementations: float64 on Float32Array data (exact, used as the reference), and one on
 * tfjs tensors that stays on the backend (used inside the attack loop).
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '../util/errors.js';

/** The l2 norm of each of the n rows (length d) of `deltas`, in float64. */
export function rowNormsOf(deltas: Float32Array, d: number): Float64Array {
  const n = d === 0 ? 0 : deltas.length / d;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = i * d; k < (i + 1) * d; k++) s += deltas[k]! * deltas[k]!;
    norms[i] = Math.sqrt(s);
  }
  return norms;
}

/**
 * The soft threshold tau of the l1-ball projection of the non-negative `norms` onto
 * { sum_i r_i <= radius }: 0 when already inside, else tau = max_j (s_j - radius) / j over the
 * norms sorted decreasingly (found exactly by sorting, O(n log n)).
 */
export function l21Threshold(norms: ArrayLike<number>, radius: number): number {
  checkNumber(radius, 'l2,1 projection radius', { min: 0 });
  let total = 0;
  for (let i = 0; i < norms.length; i++) total += norms[i]!;
  if (total <= radius) return 0;
  const u = Float64Array.from(norms).sort().reverse();
  // t_j = (s_j - R) / j rises while u_j > t_{j-1} and falls after, so its maximum is t_rho (and with
  // R = 0 it is u_1, the largest norm: everything goes to 0).
  let s = 0;
  let tau = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < u.length; j++) {
    s += u[j]!;
    tau = Math.max(tau, (s - radius) / (j + 1));
  }
  return Math.max(tau, 0);
}

/**
 * Project the rows (each of length `d`) of `deltas` onto the l2,1 ball of `radius`: unchanged when
 * sum_i ||delta_i|| <= radius, else every row is scaled by (||delta_i|| - tau)_+ / ||delta_i||.
 * Returns a new array and the threshold used.
 */
export function projectL21Ball(
  deltas: Float32Array,
  d: number,
  radius: number,
): { deltas: Float32Array; tau: number } {
  checkNumber(d, 'l2,1 projection sample size', { min: 1, integer: true });
  const norms = rowNormsOf(deltas, d);
  const tau = l21Threshold(norms, radius);
  const out = Float32Array.from(deltas);
  if (tau === 0) return { deltas: out, tau };
  for (let i = 0; i < norms.length; i++) {
    const r = norms[i]!;
    const scale = r > tau ? (r - tau) / r : 0;
    for (let k = i * d; k < (i + 1) * d; k++) out[k] = scale === 0 ? 0 : out[k]! * scale;
  }
  return { deltas: out, tau };
}

/** Project each row (length `d`) of `deltas` onto the l2 ball of `radius`: delta_i * min(1, radius / ||delta_i||). */
export function projectL2BallPerSample(deltas: Float32Array, d: number, radius: number): Float32Array {
  checkNumber(radius, 'l2 projection radius', { min: 0 });
  checkNumber(d, 'l2 projection sample size', { min: 1, integer: true });
  const norms = rowNormsOf(deltas, d);
  const out = Float32Array.from(deltas);
  for (let i = 0; i < norms.length; i++) {
    const r = norms[i]!;
    if (r <= radius) continue;
    const scale = radius / r;
    for (let k = i * d; k < (i + 1) * d; k++) out[k] = out[k]! * scale;
  }
  return out;
}

/** Per-sample l2 norms of a tensor whose first axis is the sample axis: shape [n]. */
export function rowNorms(delta: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(delta.reshape([delta.shape[0]!, -1])), 1)) as tf.Tensor1D);
}

/** Multiply each sample (first axis) of `delta` by its entry of `scale` (shape [n]). */
function scaleRows(delta: tf.Tensor, scale: tf.Tensor1D): tf.Tensor {
  const shape = [delta.shape[0]!, ...delta.shape.slice(1).map(() => 1)];
  return tf.mul(delta, scale.reshape(shape));
}

/**
 * The l2,1-ball projection on the backend (no round trip to JS): the norms are sorted with topk,
 * tau = max(0, max_j (s_j - R) / j), and each sample is scaled by (r_i - tau)_+ / r_i (0 / 0 -> 0).
 * Float32 arithmetic: the result's sum of norms can exceed R by float rounding (~1e-6 relative).
 */
export function projectL21BallTensor(delta: tf.Tensor, radius: number): tf.Tensor {
  checkNumber(radius, 'l2,1 projection radius', { min: 0 });
  return tf.tidy(() => {
    const n = delta.shape[0]!;
    if (n === 0) return delta.clone();
    const norms = rowNorms(delta);
    const sorted = tf.topk(norms, n, true).values;
    const j = tf.range(1, n + 1, 1, 'float32');
    const tau = tf.relu(tf.max(tf.div(tf.sub(tf.cumsum(sorted), radius), j)));
    const scale = tf.divNoNan(tf.relu(tf.sub(norms, tau)), norms) as tf.Tensor1D;
    return scaleRows(delta, scale);
  });
}

/** The per-sample l2-ball projection on the backend: delta_i * radius / max(||delta_i||, radius). */
export function projectL2BallTensor(delta: tf.Tensor, radius: number): tf.Tensor {
  checkNumber(radius, 'l2 projection radius', { min: 0 });
  return tf.tidy(() => {
    const norms = rowNorms(delta);
    // radius 0: every sample collapses to 0 (divNoNan turns 0/0 into 0).
    const scale = tf.divNoNan(tf.scalar(radius), tf.maximum(norms, radius)) as tf.Tensor1D;
    return scaleRows(delta, scale);
  });
}

/**
 * The attacks project onto a ball this much smaller than the budget: storing x + delta in float32
 * changes ||delta_i|| by up to ~1e-6 relative (2^-24 per pixel), so the poison written to disk
 * still satisfies the budget exactly when checked in numpy.
 */
export const FLOAT32_SAFETY = 1 - 1e-5;
