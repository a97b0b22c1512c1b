import type * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from '../heap.js';
import { conv2dOnHeap } from './conv.js';
import { type KernelArgs, runShipped } from './state.js';

/** Kernel name of conv2d + per-channel bias whose gradient skips unneeded inputs (src/backend/conv2d_bias.ts). */
export const CONV2D_BIAS = 'PoisonlabConv2DBias';

/** PoisonlabConv2DBias for 'wasm': y = conv2d(x, filter) + bias in one kernel. */
export function conv2dBiasKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, filter, bias } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
  const attrs = args.attrs ?? {};
  const y = conv2dOnHeap(be, x, filter, attrs, bias);
  if (y) return y;
  // a geometry the project's kernels do not cover: the shipped conv, then the shipped add
  const conv = runShipped('Conv2D', { inputs: { x, filter }, backend: be, attrs });
  const sum = runShipped('Add', { inputs: { a: conv, b: bias }, backend: be, attrs: {} });
  be.disposeData(conv.dataId);
  return sum;
}
