import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from './heap.js';
import type { SgdSettings } from './heap-ops.js';
import { sgdUpdateInPlace } from './kernels/sgd-update.js';

/**
 * Ops that replace chains of small tfjs kernels of a training step with one kernel each: the
 * loss of a batch of logits (forward and backward), the SGD update of a variable and relu's
 * gradient. Their kernels exist for the 'wasm' backend (src/backend/kernels); on any other
 * backend, or for inputs they do not cover, fusedLoss returns null and fusedSgdUpdate false, and
 * the caller runs its own tfjs formulation (the reference the tests compare them with).
 */

/** One kernel: loss and correctness of a batch of logits (see LossAttrs). */
export const LOSS_KERNEL = 'PoisonlabLoss';
/** Its gradient with respect to the logits. */
export const LOSS_GRAD_KERNEL = 'PoisonlabLossGrad';
/** One kernel: the SGD update of one variable (new weights, and new velocity with momentum). */
export const SGD_UPDATE_KERNEL = 'PoisonlabSgdUpdate';
/** One kernel: the gradient of relu, dy where x > 0 and 0 elsewhere. */
export const RELU_GRAD_KERNEL = 'PoisonlabReluGrad';

/**
 * The loss kernel, for logits of shape [B, ...] read as B rows of K values and labels [B] (class
 * indices, int32 or float32). With z the logits, negated when `negate`:
 * - crossentropy: l_i = logsumexp(z_i) - z_i[y_i] (z_i[y_i] read as 0 when y_i is not in [0, K)),
 *   c_i = 1 when argmax z_i (first maximum) is y_i;
 * - logistic (K = 1): with s_i = 2 y_i - 1, l_i = softplus(-s_i z_i), c_i = 1 when s_i z_i > 0.
 * Outputs: `loss` = scale * l (shape [B]) for reduction 'none', else scale * mean or sum of l (a
 * scalar); `correct` = c ([B]) for 'none', else the number of correct rows (a scalar).
 */
export interface LossAttrs {
  kind: 'crossentropy' | 'logistic';
  reduction: 'none' | 'mean' | 'sum';
  negate: boolean;
  scale: number;
}

/** Whether the current backend has the kernel `name`. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * The loss kernel on `logits` and `labels` (see LossAttrs), differentiable with respect to the
 * logits; null when the current backend has no such kernel or the inputs are not covered
 * (non-float32 logits, labels neither int32 nor float32, shapes that do not match).
 */
export function fusedLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  attrs: LossAttrs,
): { loss: tf.Tensor; correct: tf.Tensor } | null {
  const b = logits.shape[0];
  if (
    !hasKernel(LOSS_KERNEL) ||
    logits.dtype !== 'float32' ||
    (labels.dtype !== 'int32' && labels.dtype !== 'float32') ||
    logits.rank < 1 ||
    labels.rank !== 1 ||
    labels.shape[0] !== b ||
    (attrs.kind === 'logistic' && logits.size !== b)
  )
    return null;
  const [loss, correct] = tf
    .engine()
    .runKernel(
      LOSS_KERNEL,
      { logits, labels } as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
  return { loss: loss!, correct: correct! };
}

/** Gradient of LOSS_KERNEL: only the logits get one (labels are class indices). */
export const lossGradConfig: tf.GradConfig = {
  kernelName: LOSS_KERNEL,
  inputsToSave: ['logits', 'labels'],
  gradFunc: (dy, saved, attrs) => {
    const [logits, labels] = saved as [tf.Tensor, tf.Tensor];
    const dLoss = Array.isArray(dy) ? dy[0]! : dy;
    return {
      logits: () =>
        tf
          .engine()
          .runKernel(
            LOSS_GRAD_KERNEL,
            { logits, labels, dy: dLoss } as unknown as tf.NamedTensorMap,
            attrs,
          ) as tf.Tensor,
      labels: () => tf.zerosLike(labels),
    };
  },
};

/**
 * PyTorch's SGD update of the variable `w` (and its velocity `v` when momentum > 0; see
 * train/sgd.ts for the formula) in one pass. When the backend is wasm and neither variable's data
 * is shared with any other tensor (backend reference count 1: no clone, reshape or saved copy of
 * it is alive), the pass writes the new values over the old ones; otherwise SGD_UPDATE_KERNEL
 * writes fresh tensors that the variables take over (Variable.assign). Returns false, having
 * done nothing, when the backend has no such kernel or the tensors are not float32 of one shape.
 */
export function fusedSgdUpdate(
  w: tf.Variable,
  g: tf.Tensor,
  v: tf.Variable | undefined,
  attrs: SgdSettings,
): boolean {
  const same = (t: tf.Tensor) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, w.shape);
  const vel = attrs.momentum > 0 ? v : undefined;
  if (!hasKernel(SGD_UPDATE_KERNEL) || !same(w) || !same(g) || (attrs.momentum > 0 && (!vel || !same(vel))))
    return false;
  if (tf.getBackend() === 'wasm' && sgdUpdateInPlace(tf.backend() as WasmBackend, w, g, vel, attrs))
    return true;
  tf.tidy(() => {
    const inputs = (vel ? { w, g, v: vel } : { w, g }) as tf.NamedTensorMap;
    const [wNew, vNew] = tf
      .engine()
      .runKernel(SGD_UPDATE_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    w.assign(wNew!);
    if (vel) vel.assign(vNew!);
  });
  return true;
}

/**
 * The gradient of tfjs's Relu kernel that registration puts over tfjs's own (`tfjsOwn`, which is
 * dy * cast(step(x)): three kernels and three passes). Gradients are registered per kernel name for
 * every backend at once, so this one runs RELU_GRAD_KERNEL only on a backend that has it (the
 * project's) and hands every other backend to tfjs's own gradient function, unchanged. On the project's
 * backend the only difference in values is at x <= 0 with a non-finite dy, where this gives 0 (as
 * PyTorch) instead of NaN.
 */
export function reluGradConfig(tfjsOwn: tf.GradConfig | undefined): tf.GradConfig {
  return {
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      if (tfjsOwn && !hasKernel(RELU_GRAD_KERNEL)) return tfjsOwn.gradFunc(dy, saved, attrs);
      const [x] = saved as [tf.Tensor];
      return { x: () => reluGradient(dy as tf.Tensor, x) };
    },
  };
}

/**
 * dy where x > 0, else 0: relu's gradient at x (x may also be relu's output, positive exactly where
 * its input is). One RELU_GRAD_KERNEL where the backend has it, tfjs's formula elsewhere.
 */
export function reluGradient(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return hasKernel(RELU_GRAD_KERNEL) &&
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    tf.util.arraysEqual(x.shape, dy.shape)
    ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x } as unknown as tf.NamedTensorMap) as tf.Tensor)
    : tf.mul(dy, tf.cast(tf.step(x), 'float32'));
}
