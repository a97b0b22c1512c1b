import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { heapOps, type KernelArgs } from './state.js';

/** PoisonlabReluGrad for 'wasm': out = x > 0 ? dy : 0 (float32, one shape), in one pass. */
export function reluGradKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { dy, x } = args.inputs;
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, x.shape))
    throw new Error(
      `relu gradient: expected float32 dy and x of one shape, got [${dy.shape}] and [${x.shape}]`,
    );
  const out = makeFloatOutput(be, [...x.shape]);
  heapOps().reluGrad(be, out.off, offsetOf(be, x), offsetOf(be, dy), tf.util.sizeFromShape(x.shape));
  return out.info;
}
