import * as tf from '@tensorflow/tfjs';
import { heapF32, makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { heapOps, type KernelArgs, runShipped } from './state.js';

/**
 * Sum for 'wasm'. The reduction over every axis but the last (bias gradients of dense and
 * conv layers, batch-norm moments) is one pass of the heap ops' colSum; the shipped kernel
 * would transpose the tensor first. Every other case goes to the shipped kernel.
 */
export function sumKernel(args: KernelArgs): tf.TensorInfo {
  return leadingReduce(args, 'Sum');
}

/** Mean for 'wasm': the same column pass as Sum, then a scale by 1/rows. */
export function meanKernel(args: KernelArgs): tf.TensorInfo {
  return leadingReduce(args, 'Mean');
}

function leadingReduce(args: KernelArgs, kind: 'Sum' | 'Mean'): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x } = args.inputs;
  const attrs = args.attrs ?? {};
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
  if (x.dtype !== 'float32' || !leading) return runShipped(kind, { inputs: args.inputs, backend: be, attrs });
  const cols = x.shape[rank - 1];
  const rows = tf.util.sizeFromShape(x.shape) / Math.max(1, cols);
  const shape = attrs.keepDims ? [...new Array(rank - 1).fill(1), cols] : [cols];
  const out = makeFloatOutput(be, shape);
  heapOps().colSum(be, offsetOf(be, x), out.off, cols === 0 ? 0 : rows, cols);
  if (kind === 'Mean') {
    const h = heapF32(be);
    for (let j = out.off >> 2, end = j + cols; j < end; j++) h[j] /= rows;
  }
  return out.info;
}
