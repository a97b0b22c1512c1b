import * as tf from '@tensorflow/tfjs';
import { heapF32, makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { simdLoops } from '../simd.js';
import type { KernelArgs } from './state.js';

/** PoisonlabReluGrad for 'wasm': out = x > 0 ? dy : 0 (float32, one shape), in one pass. */
export function reluGradKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { dy, x } = args.inputs;
  if (dy.dtype !== 'float32' || x.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, x.shape))
    throw new Error(
      `relu gradient: expected float32 dy and x of one shape, got [${dy.shape}] and [${x.shape}]`,
    );
  const n = tf.util.sizeFromShape(x.shape);
  const out = makeFloatOutput(be, [...x.shape]);
  const [xo, dyo] = [offsetOf(be, x), offsetOf(be, dy)];
  const loops = simdLoops(be);
  if (loops) loops.reluGrad(out.off, xo, dyo, n);
  else {
    const h = heapF32(be);
    const [o, xi, di] = [out.off >> 2, xo >> 2, dyo >> 2];
    for (let i = 0; i < n; i++) h[o + i] = h[xi + i]! > 0 ? h[di + i]! : 0;
  }
  return out.info;
}
