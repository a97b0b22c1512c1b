/**
 * Gradients of backward kernels, so that a gradient of a parameter gradient (second-order autodiff: gradient
 * matching's d/d(delta) of cos(grad_theta L_poison, grad_theta L_target)) can be taken through the project's
 * networks. Measured on tfjs 4 (cpu and wasm alike), tf.grad through tf.variableGrads of `mnist-cnn` fails with
 * "gradient function not found" for three kernels, which this file gives gradients:
 *
 * - `Conv2DBackpropFilter` (tfjs ships none): dW = sum over n, h, w of x-window (x) dy is bilinear, so with an
 *   upstream G of the filter's shape, d/dx = Conv2DBackpropInput(dy, G) and d/d(dy) = conv2d(x, G), with the same
 *   strides and padding (tfjs's filter gradient has no dilations);
 * - `MaxPoolGrad` (tfjs ships none): linear in dy, dx = S^T dy with S selecting each window's maximum; so
 *   d/d(dy) = S G. For windows that do not overlap (stride = pool size, as every pooling layer of the project's
 *   models) S G is the window sum of G * mask, mask = MaxPoolGrad(ones): the kernel's own choice of maximum, ties
 *   included. Overlapping windows are refused with a one-line error. The gradient w.r.t. the pooled input is 0
 *   almost everywhere;
 * - the project's `PoisonlabReluGrad` (dy where x > 0): d/d(dy) = G where x > 0, and 0 w.r.t. x.
 *
 * Not covered here: the project's fused loss gradient (PoisonlabLossGrad), tfjs's logSumExp (its Max gradient has an
 * Equal, which has none) and tfjs's Exp (its saved output's tape node precedes the op's, so a second-order tape loses
 * the path through it). A second-order caller writes its loss with an exp whose gradient recomputes exp(x) from x
 * (attacks/targeted/gradient-matching.ts, `twiceDifferentiableCE`). Registering is idempotent and adds gradients only to
 * kernels that had none, so no first-order computation changes.
 */
import * as tf from '@tensorflow/tfjs';
import { PoisonlabError } from '../util/errors.js';
import { RELU_GRAD_KERNEL, reluGradient } from './fused-ops.js';

type Pad = 'valid' | 'same' | number;

const conv2dBackpropFilterGrad: tf.GradConfig = {
  kernelName: 'Conv2DBackpropFilter',
  inputsToSave: ['x', 'dy'],
  gradFunc: (g, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const G = (Array.isArray(g) ? g[0]! : g) as tf.Tensor4D;
    const strides = attrs['strides'] as [number, number];
    const pad = attrs['pad'] as Pad;
    const rounding = attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined;
    return {
      x: () => tf.conv2dTranspose(dy, G, x.shape, strides, pad as 'valid' | 'same', rounding),
      dy: () => tf.conv2d(x, G, strides, pad as 'valid' | 'same', 'NHWC', 1, rounding),
    };
  },
};

const maxPoolGradGrad: tf.GradConfig = {
  kernelName: 'MaxPoolGrad',
  inputsToSave: ['dy', 'input', 'output'],
  gradFunc: (g, saved, attrs) => {
    const [dy, input, output] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const G = (Array.isArray(g) ? g[0]! : g) as tf.Tensor4D;
    const size = attrs['filterSize'] as number | [number, number];
    const strides = attrs['strides'] as number | [number, number];
    const [fh, fw] = typeof size === 'number' ? [size, size] : size;
    const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
    if (fh !== sh || fw !== sw)
      throw new PoisonlabError(
        `second-order gradient: max pooling ${fh}x${fw} with stride ${sh}x${sw} has overlapping windows, expected stride = pool size`,
      );
    const pad = attrs['pad'] as Pad;
    const rounding = attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined;
    return {
      dy: () => {
        const mask = tf
          .engine()
          .runKernel(
            'MaxPoolGrad',
            { dy: tf.onesLike(dy), input, output } as unknown as tf.NamedTensorMap,
            attrs,
          ) as tf.Tensor4D;
        return tf.mul(
          tf.avgPool(tf.mul(G, mask) as tf.Tensor4D, [fh, fw], [sh, sw], pad as 'valid' | 'same', rounding),
          fh * fw,
        );
      },
      input: () => tf.zerosLike(input),
      output: () => tf.zerosLike(output),
    };
  },
};

const reluGradGrad: tf.GradConfig = {
  kernelName: RELU_GRAD_KERNEL,
  inputsToSave: ['x'],
  gradFunc: (g, saved) => {
    const [x] = saved as [tf.Tensor];
    const G = Array.isArray(g) ? g[0]! : g;
    return { dy: () => reluGradient(G, x), x: () => tf.zerosLike(x) };
  },
};

/** Give the backward kernels above their gradients (once; kernels that already have one keep it). */
export function registerSecondOrderGradients(): void {
  for (const config of [conv2dBackpropFilterGrad, maxPoolGradGrad, reluGradGrad])
    if (!tf.getGradient(config.kernelName)) tf.registerGradient(config);
}
