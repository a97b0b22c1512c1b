/**
 * The losses of the attacks: the surrogate's ordinary loss (to report what the poison does to it)
 * and the "negated loss" that the original's projected gradient ascent climbs.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedLoss } from '../backend/fused-ops.js';
import { normalizationLayer, withRawInput } from '../models/normalize.js';
import { PoisonlabError } from '../util/errors.js';

/** How the per-sample losses of a minibatch are combined. */
export type Reduction = 'mean' | 'sum';

/** True when the model has a single output logit (binary task, logistic loss). */
export function isBinaryOutput(model: tf.LayersModel): boolean {
  const shape = model.outputs[0]!.shape;
  return shape[shape.length - 1] === 1;
}

/**
 * Per-sample loss of `logits` for labels `y` (class indices):
 * - K > 1 logits: softmax cross-entropy  CE(z, y) = logsumexp(z) - z_y;
 * - 1 logit (binary, class 0 = label -1, class 1 = label +1): logistic loss softplus(-s z), s = 2y - 1.
 */
export function perSampleLoss(logits: tf.Tensor, y: tf.Tensor1D): tf.Tensor1D {
  const fused = fusedLoss(logits, y, { kind: lossKind(logits), reduction: 'none', negate: false, scale: 1 });
  if (!fused) return referencePerSampleLoss(logits, y);
  fused.correct.dispose();
  return fused.loss as tf.Tensor1D;
}

/** Cross-entropy for K > 1 logits per sample, the logistic loss for one. */
function lossKind(logits: tf.Tensor): 'crossentropy' | 'logistic' {
  return logits.size === (logits.shape[0] ?? 0) ? 'logistic' : 'crossentropy';
}

/** perSampleLoss written with tfjs ops (any backend): the fallback, and the tests' reference. */
export function referencePerSampleLoss(logits: tf.Tensor, y: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const z = logits.reshape([logits.shape[0]!, -1]) as tf.Tensor2D;
    const k = z.shape[1];
    if (k === 1) {
      const s = tf.sub(tf.mul(tf.cast(y, 'float32'), 2), 1);
      return tf.softplus(tf.neg(tf.mul(s, z.reshape([-1])))) as tf.Tensor1D;
    }
    const picked = tf.sum(tf.mul(z, tf.oneHot(y, k)), 1);
    return tf.sub(tf.logSumExp(z, 1), picked) as tf.Tensor1D;
  });
}

/**
 * The objective the attack ascends, exactly the original's "negated loss":
 *     L(delta) = - CE(-f(x + delta), y)
 * The double negation makes the ascent push the logits so that -f classifies y, i.e. it drives the
 * true class's logit f_y down relative to the others. For a one-logit (binary) surrogate CE is
 * replaced by the logistic loss of -f: L = -softplus(s * f), s = +-1.
 * `reduction` 'mean' (the default, as torch's CrossEntropyLoss in the original) divides by the
 * batch size, so each sample's gradient is 1/batch of its own; 'sum' does not.
 * One kernel on wasm (negation, loss, reduction and sign together); tfjs ops elsewhere.
 */
export function negatedLoss(logits: tf.Tensor, y: tf.Tensor1D, reduction: Reduction = 'mean'): tf.Scalar {
  const fused = fusedLoss(logits, y, { kind: lossKind(logits), reduction, negate: true, scale: -1 });
  if (fused) {
    fused.correct.dispose();
    return fused.loss as tf.Scalar;
  }
  return tf.tidy(() => {
    const losses = referencePerSampleLoss(tf.neg(logits), y);
    return tf.neg(reduction === 'mean' ? tf.mean(losses) : tf.sum(losses)) as tf.Scalar;
  });
}

/**
 * How the attack sees its surrogate:
 * - `mode`: 'eval' (default) runs it in inference mode; 'train' in training mode, so its dropout layers draw a
 *   fresh seeded mask on every step (the original never calls `model.eval()` on its AlexNet surrogate, so both
 *   p = 0.5 dropouts are active in every attack step: poison_attack.py lines 137-141 and 65);
 * - `input`: 'raw' (default) feeds x + delta past the surrogate's own input normalisation, if it has one (the
 *   original feeds raw pixels: poison_attack.py line 52 `X_tensor = X_orig`); 'normalized' through it.
 */
export interface SurrogateView {
  mode?: 'eval' | 'train';
  input?: 'raw' | 'normalized';
}

/** A one-line error unless the view fits the surrogate ('normalized' needs a normalisation layer). */
export function checkSurrogateView(model: tf.LayersModel, view: SurrogateView = {}): void {
  if (view.input === 'normalized' && !normalizationLayer(model))
    throw new PoisonlabError(
      "attack surrogateInput 'normalized': the surrogate has no input normalisation (train it with normalize, or use 'raw')",
    );
}

/** The surrogate's logits for `input` as the attack sees them (see SurrogateView). */
export function surrogateLogits(
  model: tf.LayersModel,
  input: tf.Tensor,
  view: SurrogateView = {},
): tf.Tensor {
  const run = () => model.apply(input, { training: view.mode === 'train' }) as tf.Tensor;
  return view.input === 'normalized' ? run() : withRawInput(model, run);
}

/**
 * The attack's ascent gradient: d/d(delta) of negatedLoss(f(x + delta), y) for the frozen `model`
 * (inference mode and raw input unless `view` says otherwise), with delta of x's shape. Each attack step and
 * the benchmark compute this.
 */
export function negatedLossGradient(
  model: tf.LayersModel,
  x: tf.Tensor,
  delta: tf.Tensor,
  y: tf.Tensor1D,
  reduction: Reduction = 'mean',
  view: SurrogateView = {},
): tf.Tensor {
  return tf.tidy(() =>
    tf.grad((d: tf.Tensor) => negatedLoss(surrogateLogits(model, tf.add(x, d), view), y, reduction))(delta),
  );
}

/** Predicted class per sample: argmax of the logits, or logit > 0 for one-logit models. */
export function predictedClass(logits: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const z = logits.reshape([logits.shape[0]!, -1]);
    if (z.shape[1] === 1) return tf.cast(tf.greater(z.reshape([-1]), 0), 'int32') as tf.Tensor1D;
    return tf.argMax(z, 1) as tf.Tensor1D;
  });
}

/**
 * Mean loss and accuracy of the (frozen) surrogate on `x` (samples on the first axis) with labels
 * `y`, in batches, in inference mode on the input the attack feeds it (`input`, see SurrogateView);
 * accumulates on the backend and reads back once.
 */
export function evaluateSurrogate(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  batchSize = 256,
  input: SurrogateView['input'] = 'raw',
): { loss: number; accuracy: number } {
  const n = x.shape[0]!;
  if (n === 0) return { loss: 0, accuracy: 0 };
  let lossSum = tf.scalar(0);
  let correct = tf.scalar(0);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const [l, c] = tf.tidy(() => {
      const xb = tf.slice(x, start, size);
      const yb = tf.slice(y, start, size);
      // in inference mode, on the input the attack feeds it
      const logits = surrogateLogits(model, xb, { mode: 'eval', input });
      const losses = perSampleLoss(logits, yb);
      const hits = tf.sum(tf.cast(tf.equal(predictedClass(logits), yb), 'float32'));
      return [tf.add(lossSum, tf.sum(losses)), tf.add(correct, hits)];
    });
    lossSum.dispose();
    correct.dispose();
    lossSum = l!;
    correct = c!;
  }
  const loss = lossSum.dataSync()[0]! / n;
  const accuracy = correct.dataSync()[0]! / n;
  lossSum.dispose();
  correct.dispose();
  return { loss, accuracy };
}
