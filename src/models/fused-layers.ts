import * as tf from '@tensorflow/tfjs';
import { conv2dBias, denseBias, type LayerActivation } from '../backend/layer-ops.js';

// Records tfjs-layers Conv2D and Dense layers as the project's one-kernel layer ops (conv2dBias,
// denseBias: product, bias and relu in one kernel, gradients recorded per input, see
// src/backend/layer-ops.ts). The layers' classes, configs, weights and outputs are unchanged: only
// how their forward is recorded differs, so models save, load and summarise as plain tfjs models.

/** The parts of a tfjs-layers Conv2D / Dense this module reads (protected in the typings). */
interface LayerInternals {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  activation: { apply(x: tf.Tensor): tf.Tensor };
}
interface ConvInternals extends LayerInternals {
  strides: number[];
  padding: 'valid' | 'same';
  dilationRate: number[];
  dataFormat: string;
}

/** The activation fused into the kernel ('linear' or 'relu'), or null when the layer has another. */
function fusedActivation(layer: tf.layers.Layer): LayerActivation | null {
  const act = layer.getConfig().activation ?? 'linear';
  return act === 'linear' || act === 'relu' ? act : null;
}

/** Replaces `layer.call` by `fast(x)` where `fits(x)`, keeping tfjs's own call for anything else. */
function overrideCall(
  layer: tf.layers.Layer,
  fits: (x: tf.Tensor) => boolean,
  fast: (x: tf.Tensor, act: LayerActivation) => tf.Tensor,
): tf.layers.Layer {
  const own = layer.call.bind(layer);
  const internals = layer as unknown as LayerInternals;
  // fixed at construction: read once here, not through getConfig() on every forward
  const act = fusedActivation(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!fits(x) || x.dtype !== 'float32') return own(inputs, kwargs);
    return tf.tidy(() => (act ? fast(x, act) : internals.activation.apply(fast(x, 'linear'))));
  };
  return layer;
}

/**
 * A Conv2D (NHWC, dilation 1) as conv2dBias: in training the network's first layer skips dx, and
 * conv + bias + relu are one kernel instead of three. Returns the layer.
 */
export function asConvBias(layer: tf.layers.Layer): tf.layers.Layer {
  const conv = layer as unknown as ConvInternals;
  return overrideCall(
    layer,
    (x) => conv.dataFormat === 'channelsLast' && x.rank === 4 && conv.dilationRate.every((d) => d === 1),
    (x, act) =>
      conv2dBias(
        x as tf.Tensor4D,
        conv.kernel.read() as tf.Tensor4D,
        (conv.bias?.read() as tf.Tensor1D | undefined) ?? null,
        conv.strides as [number, number],
        conv.padding,
        act,
      ),
  );
}

/** A Dense layer on [batch, k] inputs as denseBias: product + bias + relu in one kernel. Returns the layer. */
export function asDenseBias(layer: tf.layers.Layer): tf.layers.Layer {
  const dense = layer as unknown as LayerInternals;
  return overrideCall(
    layer,
    (x) => x.rank === 2,
    (x, act) =>
      denseBias(
        x as tf.Tensor2D,
        dense.kernel.read() as tf.Tensor2D,
        (dense.bias?.read() as tf.Tensor1D | undefined) ?? null,
        act,
      ),
  );
}
