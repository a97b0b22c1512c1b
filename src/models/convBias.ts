import * as tf from '@tensorflow/tfjs';
import { conv2dBias } from '../backend/conv2d_bias.js';

/** The parts of a tfjs-layers Conv2D this module reads (protected in the typings). */
interface ConvInternals {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: number[];
  padding: 'valid' | 'same';
  dilationRate: number[];
  dataFormat: string;
  activation: { apply(x: tf.Tensor): tf.Tensor };
}

/**
 * Records a tfjs-layers Conv2D (NHWC, dilation 1) as conv2dBias + its activation. tfjs-layers runs
 * every conv through tf.fused.conv2d, which in training (with a gradient tape and a non-linear
 * activation) splits into conv, bias add and activation, and whose gradient always computes dx,
 * even for the network's input where nobody needs it. conv2dBias is one kernel for conv + bias
 * whose gradient is recorded per input, so the tape computes dx only where someone needs it (an
 * attack differentiating with respect to the input still gets it). The layer's class, config,
 * weights and outputs are unchanged: only how its forward is recorded differs. Returns the layer.
 */
export function asConvBias(layer: tf.layers.Layer): tf.layers.Layer {
  const conv = layer as unknown as ConvInternals;
  const fused = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    // anything but the plain NHWC, dilation-1 case keeps tfjs's own path
    if (conv.dataFormat !== 'channelsLast' || x.rank !== 4 || conv.dilationRate.some((d) => d !== 1))
      return fused(inputs, kwargs);
    return tf.tidy(() => {
      const kernel = conv.kernel.read() as tf.Tensor4D;
      const strides = conv.strides as [number, number];
      const y = conv.bias
        ? conv2dBias(x as tf.Tensor4D, kernel, conv.bias.read() as tf.Tensor1D, strides, conv.padding)
        : tf.conv2d(x as tf.Tensor4D, kernel, strides, conv.padding, 'NHWC');
      return conv.activation.apply(y);
    });
  };
  return layer;
}
