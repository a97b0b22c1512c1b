/**
 * The l_inf projected sign-gradient steps of the optimised availability poisons: error-minimising noise descends
 * the loss of the true label, adversarial poisoning (TAP) descends the loss of a target label. Both see the network
 * in inference mode on raw pixels (as the regime A/B attacks do, ../objective.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { perSampleLoss, surrogateLogits } from '../objective.js';

/** d/d(delta) of sum_i CE(f(x_i + delta_i), labels_i), the network in inference mode. */
export function inputGradient(
  model: tf.LayersModel,
  xb: tf.Tensor,
  db: tf.Tensor,
  labels: tf.Tensor1D,
): tf.Tensor {
  return tf.tidy(() =>
    tf.grad((d: tf.Tensor) =>
      tf.sum(perSampleLoss(surrogateLogits(model, tf.add(xb, d), { mode: 'eval', input: 'raw' }), labels)),
    )(db),
  );
}

/** delta - step * sign(g), then into [-eps, eps] and so that x + delta stays in [0, 1]. */
export function descendAndProject(
  xb: tf.Tensor,
  db: tf.Tensor,
  g: tf.Tensor,
  step: number,
  eps: number,
): tf.Tensor {
  return tf.tidy(() => {
    const next = tf.clipByValue(tf.sub(db, tf.mul(tf.sign(g), step)), -eps, eps);
    return tf.sub(tf.clipByValue(tf.add(xb, next), 0, 1), xb);
  });
}

/**
 * `steps` projected sign-gradient steps that lower the loss of `labels` on x + delta from `delta0`; returns the
 * final delta (the caller owns it). With labels = the true ones this is error minimisation; with target labels,
 * a targeted adversarial example.
 */
export function descendLoss(
  model: tf.LayersModel,
  xb: tf.Tensor,
  delta0: tf.Tensor,
  labels: tf.Tensor1D,
  steps: number,
  step: number,
  eps: number,
): tf.Tensor {
  let d = tf.clone(delta0);
  for (let s = 0; s < steps; s++) {
    const next = tf.tidy(() => descendAndProject(xb, d, inputGradient(model, xb, d, labels), step, eps));
    d.dispose();
    d = next;
  }
  return d;
}

/** Mean CE loss and accuracy of `model` (inference mode) on x with `labels`, in batches. */
export function accuracyOn(
  model: tf.LayersModel,
  x: tf.Tensor,
  labels: tf.Tensor1D,
  batchSize = 500,
): { loss: number; accuracy: number } {
  const n = x.shape[0]!;
  let loss = 0;
  let hits = 0;
  for (let s = 0; s < n; s += batchSize) {
    const size = Math.min(batchSize, n - s);
    const [l, h] = tf.tidy(() => {
      const xb = tf.slice(x, s, size);
      const yb = tf.slice(labels, s, size);
      const z = surrogateLogits(model, xb, { mode: 'eval', input: 'raw' });
      return [tf.sum(perSampleLoss(z, yb)), tf.sum(tf.cast(tf.equal(tf.argMax(z, 1), yb), 'float32'))];
    });
    loss += l!.dataSync()[0]!;
    hits += h!.dataSync()[0]!;
    l!.dispose();
    h!.dispose();
  }
  return { loss: n > 0 ? loss / n : 0, accuracy: n > 0 ? hits / n : 0 };
}
