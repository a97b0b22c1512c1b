import * as tf from '@tensorflow/tfjs';

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
 * computes dx, even for the network's input where nobody needs it; as tf.conv2d + tf.add, the
 * tape prunes it. The layer's class, config, weights and outputs are unchanged (y = x * W + b):
 * only how its forward is recorded differs. Returns the same layer.
 */
export function withoutInputGradient(layer: tf.layers.Layer): tf.layers.Layer {
  const conv = layer as unknown as ConvInternals;
  const fused = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    // anything but the plain NHWC case keeps tfjs's own path
    if (conv.dataFormat !== 'channelsLast' || x.rank !== 4) return fused(inputs, kwargs);
    return tf.tidy(() => {
      const y = tf.conv2d(
        x as tf.Tensor4D,
        conv.kernel.read() as tf.Tensor4D,
        conv.strides as [number, number],
        conv.padding,
        'NHWC',
        conv.dilationRate as [number, number],
      );
      return conv.bias ? tf.add(y, conv.bias.read()) : y;
    });
  };
  return layer;
}
