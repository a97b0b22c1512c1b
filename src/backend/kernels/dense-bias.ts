import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { biasRelu } from './epilogue.js';
import { heapOps, type KernelArgs } from './state.js';

/** Kernel name of a dense layer's act(x . w + b) with per-input gradients (src/backend/layer-ops.ts). */
export const DENSE_BIAS = 'PoisonlabDenseBias';

/** PoisonlabDenseBias for 'wasm': one product, then bias and activation in one pass over the output. */
export function denseBiasKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, w, bias } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
  const relu = args.attrs?.activation === 'relu';
  const [m, k] = x.shape as [number, number];
  const [k2, n] = w.shape as [number, number];
  if (
    x.shape.length !== 2 ||
    w.shape.length !== 2 ||
    k !== k2 ||
    x.dtype !== 'float32' ||
    w.dtype !== 'float32'
  )
    throw new Error(
      `dense layer: expected float32 x [batch, k] and w [k, n], got [${x.shape}] and [${w.shape}]`,
    );
  if (bias && tf.util.sizeFromShape(bias.shape) !== n)
    throw new Error(`dense layer: expected a bias of ${n} values, got [${bias.shape}]`);
  const out = makeFloatOutput(be, [m, n]);
  heapOps().gemm(be, false, false, m, n, k, offsetOf(be, x), offsetOf(be, w), out.off, 0);
  biasRelu(be, out.off, m, n, bias, relu);
  return out.info;
}
