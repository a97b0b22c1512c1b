import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { heapOps, type KernelArgs, runShipped } from './state.js';

/**
 * Add for 'wasm'. The bias add of an unfused layer, y[r, j] = x[r, j] + b[j] (x float32 of rank >= 2,
 * b a vector of x's last dimension, either order), is one pass of the heap ops' biasAdd; the
 * shipped kernel's general broadcast is several times slower on it. Every other case goes to the shipped kernel.
 */
export function addKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { a, b } = args.inputs;
  const isBias = (x: tf.TensorInfo, v: tf.TensorInfo) =>
    x.dtype === 'float32' &&
    v.dtype === 'float32' &&
    x.shape.length >= 2 &&
    v.shape.length === 1 &&
    v.shape[0] === x.shape[x.shape.length - 1];
  const [x, bias] = isBias(a, b) ? [a, b] : isBias(b, a) ? [b, a] : [null, null];
  if (!x || !bias) return runShipped('Add', { inputs: args.inputs, backend: be, attrs: args.attrs ?? {} });
  const cols = bias.shape[0]!;
  const size = tf.util.sizeFromShape(x.shape);
  const out = makeFloatOutput(be, [...x.shape]);
  const rows = cols === 0 ? 0 : size / cols;
  heapOps().biasAdd(be, offsetOf(be, x), offsetOf(be, bias), out.off, rows, cols);
  return out.info;
}
