import type * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from '../heap.js';
import { conv2dOnHeap } from './conv.js';
import { type KernelArgs, runShipped } from './state.js';

/** Kernel name of a conv layer's act(conv2d(x, W) + b) with per-input gradients (src/backend/layer-ops.ts). */
export const CONV2D_BIAS = 'PoisonlabConv2DBias';

/** PoisonlabConv2DBias for 'wasm': y = act(conv2d(x, filter) + bias) in one kernel (act: linear or relu). */
export function conv2dBiasKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, filter, bias } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
  const attrs = args.attrs ?? {};
  const relu = attrs.activation === 'relu';
  const y = conv2dOnHeap(be, x, filter, attrs, bias, relu);
  if (y) return y;
  // a geometry the project's kernels do not cover: the shipped fused conv
  return runShipped('FusedConv2D', {
    inputs: { x, filter, bias },
    backend: be,
    attrs: { ...attrs, activation: relu ? 'relu' : 'linear' },
  });
}
