import * as tf from '@tensorflow/tfjs';
import { reluGradient } from './fused-ops.js';
import { CONV2D_BIAS } from './kernels/conv-bias.js';
import { DENSE_BIAS } from './kernels/dense-bias.js';

// A layer's affine map and activation, y = act(x * W + b) (conv or dense), as ONE kernel whose
// gradient is recorded per input, so the tape computes only the gradients someone needs.
// tfjs-layers runs layers through tf.fused.conv2d / tf.fused.matMul, which in training (under a
// gradient tape, with a non-linear activation) split into product, bias add and activation kernels,
// and whose gradient always computes dx, even for a network's input where nobody needs it; an
// attack differentiating with respect to the input still gets it here. On backends without these
// kernels (anything but the project's wasm) the same ops are composed from tfjs's own.

/** The activations the fused layer kernels apply after the bias. */
export type LayerActivation = 'linear' | 'relu';

/** y = act(conv2d(x, filter) + bias) (NHWC, dilation 1); bias may be null. */
export function conv2dBias(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D | null,
  strides: [number, number],
  pad: 'valid' | 'same',
  activation: LayerActivation = 'linear',
): tf.Tensor4D {
  if (!tf.getKernel(CONV2D_BIAS, tf.getBackend()) || !bias) {
    const y = tf.conv2d(x, filter, strides, pad);
    const z = bias ? tf.add(y, bias) : y;
    return (activation === 'relu' ? tf.relu(z) : z) as tf.Tensor4D;
  }
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], activation };
  return tf
    .engine()
    .runKernel(CONV2D_BIAS, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** y = act(x . w + bias) for x [batch, k] and w [k, n]; bias may be null. */
export function denseBias(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  bias: tf.Tensor1D | null,
  activation: LayerActivation = 'linear',
): tf.Tensor2D {
  if (!tf.getKernel(DENSE_BIAS, tf.getBackend())) {
    const y = tf.matMul(x, w);
    const z = bias ? tf.add(y, bias) : y;
    return (activation === 'relu' ? tf.relu(z) : z) as tf.Tensor2D;
  }
  const inputs: tf.NamedTensorMap = bias ? { x, w, bias } : { x, w };
  return tf
    .engine()
    .runKernel(DENSE_BIAS, inputs, { activation } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** The gradient before the activation: dy, or dy where y > 0 after a relu. */
function preActivation(dy: tf.Tensor, y: tf.Tensor | undefined, attrs: tf.NamedAttrMap): tf.Tensor {
  return attrs.activation === 'relu' && y ? reluGradient(dy, y) : dy;
}

// The gradients below are registered with the project's kernels (kernels/register.ts), never at import.

/**
 * Gradient of CONV2D_BIAS, y = act(x * W + b): with dz = dy * act'(.), dx = Conv2DBackpropInput(dz, W),
 * dW = Conv2DBackpropFilter(x, dz), db = the sum of dz over n, h, w.
 */
export const conv2dBiasGradConfig: tf.GradConfig = {
  kernelName: CONV2D_BIAS,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const dz = preActivation(dy as tf.Tensor, y, attrs) as tf.Tensor4D;
    const common = { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const run = (name: string, inputs: tf.NamedTensorMap, extra: object) =>
      tf.engine().runKernel(name, inputs, { ...common, ...extra } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return {
      x: () => run('Conv2DBackpropInput', { dy: dz, filter }, { inputShape: x.shape }),
      filter: () => run('Conv2DBackpropFilter', { x, dy: dz }, { filterShape: filter.shape }),
      bias: () => tf.sum(dz, [0, 1, 2]),
    };
  },
};

/** Gradient of DENSE_BIAS, y = act(x . w + b): with dz = dy * act'(.), dx = dz . w^T, dw = x^T . dz, db = the column sums of dz. */
export const denseBiasGradConfig: tf.GradConfig = {
  kernelName: DENSE_BIAS,
  inputsToSave: ['x', 'w'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, w, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const dz = preActivation(dy as tf.Tensor, y, attrs) as tf.Tensor2D;
    return {
      x: () => tf.matMul(dz, w, false, true),
      w: () => tf.matMul(x, dz, true, false),
      bias: () => tf.sum(dz, 0),
    };
  },
};
