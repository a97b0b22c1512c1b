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
}

/**
 * Makes a first-layer conv2d (linear activation, NHWC) skip the gradient with respect to its input
 * during training. tfjs-layers runs every conv through tf.fused.conv2d, whose gradient always
 * computes dx, even for the network's input where nobody needs it; as conv2dBias (one kernel whose
 * gradient is recorded per input) the tape prunes it, while an attack differentiating with respect
 * to the input still gets it. The layer's class, config, weights and outputs are unchanged
 * (y = x * W + b): only how its forward is recorded differs. Returns the same layer.
 */
export function withoutInputGradient(layer: tf.layers.Layer): tf.layers.Layer {
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
      if (conv.bias)
        return conv2dBias(x as tf.Tensor4D, kernel, conv.bias.read() as tf.Tensor1D, strides, conv.padding);
      return tf.conv2d(x as tf.Tensor4D, kernel, strides, conv.padding, 'NHWC');
    });
  };
  return layer;
}
