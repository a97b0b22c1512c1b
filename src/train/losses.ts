import * as tf from '@tensorflow/tfjs';
import { fusedLoss } from '../backend/fused-ops.js';
import type { Dataset } from '../data/dataset.js';
import { check } from '../util/errors.js';
import type { LossKind } from './types.js';

/** Number of logits the model outputs (its last dimension). */
export function outputUnits(model: tf.LayersModel): number {
  const shape = model.outputs[0]!.shape;
  return shape[shape.length - 1] ?? 0;
}

/** The loss a model's output calls for unless told otherwise: logistic for one logit, cross-entropy for K > 1. */
export function defaultLoss(model: tf.LayersModel): LossKind {
  return outputUnits(model) === 1 ? 'logistic' : 'crossentropy';
}

/** Check that a dataset suits the model's input and the loss; one-line errors naming the dataset. */
export function checkCompatible(model: tf.LayersModel, ds: Dataset, loss: LossKind): void {
  const inShape = model.inputs[0]!.shape.slice(1);
  check(
    inShape.length === ds.sampleShape.length &&
      inShape.every((s, i) => s === null || s === ds.sampleShape[i]),
    `${ds.name}: samples of shape [${ds.sampleShape}] do not fit the model, expected [${inShape}]`,
  );
  const units = outputUnits(model);
  const k = ds.classNames.length;
  if (loss === 'logistic') {
    check(
      units === 1,
      `${ds.name}: logistic loss needs a model with one output logit, the model has ${units}`,
    );
    check(k === 2, `${ds.name}: logistic loss needs a binary dataset (2 classes), found ${k} classes`);
  } else {
    // crossentropy and bce-onehot: one logit per class
    check(
      units === k,
      `${ds.name}: ${k} classes but the model outputs ${units} logits, expected equal numbers`,
    );
  }
}

/**
 * Per-sample loss and correctness of a batch of logits against class indices `labels` (int32).
 * - crossentropy: loss_i = logsumexp(f_i) - f_i[y_i]; correct when argmax f_i = y_i.
 * - logistic: with s_i = +1 for class 1 and -1 for class 0, loss_i = softplus(-s_i f(x_i)) (the same as
 *   binary cross-entropy on the logit); correct when s_i f(x_i) > 0 (the theory's error is P(y f(x) < 0)).
 * - bce-onehot: loss_i = (1/K) sum_k softplus(f_ik) - [k = y_i] f_ik; correct when argmax f_i = y_i.
 * On the wasm backend this is one kernel (forward and gradient, see backend/fused-ops.ts);
 * elsewhere the tfjs formulation of referencePerSampleLoss.
 */
export function perSampleLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  kind: LossKind,
): { loss: tf.Tensor1D; correct: tf.Tensor1D } {
  if (kind === 'bce-onehot') return referencePerSampleLoss(logits, labels, kind);
  const fused = fusedLoss(logits, labels, { kind, reduction: 'none', negate: false, scale: 1 });
  if (fused) return fused as { loss: tf.Tensor1D; correct: tf.Tensor1D };
  return referencePerSampleLoss(logits, labels, kind);
}

/**
 * The batch's mean loss and its number of correct predictions, as perSampleLoss would give them
 * through tf.mean and tf.sum (one kernel on wasm, whose gradient includes the 1/batch).
 */
export function batchLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  kind: LossKind,
): { loss: tf.Scalar; correct: tf.Scalar } {
  const fused =
    kind === 'bce-onehot'
      ? null
      : fusedLoss(logits, labels, { kind, reduction: 'mean', negate: false, scale: 1 });
  if (fused) return fused as { loss: tf.Scalar; correct: tf.Scalar };
  return tf.tidy(() => {
    const terms = referencePerSampleLoss(logits, labels, kind);
    return { loss: tf.mean(terms.loss) as tf.Scalar, correct: tf.sum(terms.correct) as tf.Scalar };
  });
}

/** perSampleLoss written with tfjs ops (any backend): the fallback, and the tests' reference. */
export function referencePerSampleLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  kind: LossKind,
): { loss: tf.Tensor1D; correct: tf.Tensor1D } {
  return tf.tidy(() => {
    if (kind === 'logistic') {
      const f = tf.reshape(logits, [-1]);
      const sign = tf.sub(tf.mul(tf.cast(labels, 'float32'), 2), 1);
      const margin = tf.mul(sign, f);
      return {
        loss: tf.softplus(tf.neg(margin)) as tf.Tensor1D,
        correct: tf.cast(tf.greater(margin, 0), 'float32') as tf.Tensor1D,
      };
    }
    const k = logits.shape[1]!;
    const correct = tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32') as tf.Tensor1D;
    if (kind === 'bce-onehot') {
      // mean over the K logits of softplus(f_k) - t_k f_k, t the one-hot label; its batch mean is BCEWithLogitsLoss
      const terms = tf.sub(tf.softplus(logits), tf.mul(logits, tf.oneHot(labels as tf.Tensor1D, k)));
      return { loss: tf.mean(terms, 1) as tf.Tensor1D, correct };
    }
    const picked = tf.sum(tf.mul(logits, tf.oneHot(labels as tf.Tensor1D, k)), 1);
    const loss = tf.sub(tf.logSumExp(logits, 1), picked) as tf.Tensor1D;
    return { loss, correct };
  });
}
