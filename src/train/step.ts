import * as tf from '@tensorflow/tfjs';
import { batchLoss } from './losses.js';
import type { Sgd } from './sgd.js';
import { twoLayerBatchStep } from './twoLayerBatch.js';
import type { LossKind } from './types.js';

/** What one SGD step reports about its batch (both owned by the caller). */
export interface StepResult {
  /** Mean loss of the batch, before the update. */
  loss: tf.Scalar;
  /** Number of correctly classified samples of the batch, before the update. */
  correct: tf.Scalar;
}

/**
 * One minibatch SGD step, as `train` runs it: forward in training mode, the mean per-sample loss
 * (perSampleLoss, through batchLoss) of the batch, its gradients with respect to `vars`, then the optimizer's update.
 * `xb` is a batch of inputs, `yb` its class indices (int32). The benchmark times this same function.
 * The theory's two-layer net with plain SGD takes a fused path (twoLayerBatch.ts) with the same update.
 */
export function sgdStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  optimizer: Sgd,
  xb: tf.Tensor,
  yb: tf.Tensor,
  kind: LossKind,
): StepResult {
  const fused = twoLayerBatchStep(model, vars, optimizer, xb, yb, kind);
  if (fused) return fused;
  return tf.tidy(() => {
    let correct: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const { loss, correct: c } = batchLoss(model.apply(xb, { training: true }) as tf.Tensor, yb, kind);
      correct = tf.keep(c);
      return loss;
    }, vars);
    optimizer.step(vars, grads);
    // `correct` was kept to leave variableGrads' scope; hand the caller a tracked copy
    const count = tf.clone(correct!) as tf.Scalar;
    correct!.dispose();
    return { loss: value, correct: count };
  });
}
