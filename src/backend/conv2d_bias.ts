import * as tf from '@tensorflow/tfjs';
import { CONV2D_BIAS } from './kernels/conv_bias.js';

/**
 * y = conv2d(x, filter) + bias (NHWC, dilation 1) as ONE kernel whose gradient is recorded per
 * input, so the tape computes only the gradients someone needs: for a network's first layer in
 * training, dW and db but not dx (tf.fused.conv2d's gradient always computes all three), while an
 * attack differentiating with respect to the input still gets dx. On backends without the kernel
 * (anything but the project's wasm) it is tf.conv2d followed by tf.add, with the same effect.
 */
export function conv2dBias(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: [number, number],
  pad: 'valid' | 'same',
): tf.Tensor4D {
  if (!tf.getKernel(CONV2D_BIAS, tf.getBackend()))
    return tf.add(tf.conv2d(x, filter, strides, pad), bias) as tf.Tensor4D;
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1] };
  return tf
    .engine()
    .runKernel(CONV2D_BIAS, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

// The gradient of y = x * W + b, one function per input (the tape calls only those it needs):
// dx = Conv2DBackpropInput(dy, W), dW = Conv2DBackpropFilter(x, dy), db = sum of dy over n, h, w.
tf.registerGradient({
  kernelName: CONV2D_BIAS,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = dy as tf.Tensor4D;
    const common = { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    return {
      x: () =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, {
          ...common,
          inputShape: x.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, {
          ...common,
          filterShape: filter.shape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      bias: () => tf.sum(g, [0, 1, 2]),
    };
  },
});
