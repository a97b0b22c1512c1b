import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from '../heap.js';
import { type KernelArgs, runShipped } from './state.js';

/**
 * Slice for 'wasm' that reads the input through a view of the heap. The shipped kernel first copies
 * the WHOLE input out of the heap (readSync) for every slice, so taking a 500-row batch of a
 * 48,000-image tensor cost ~50 ms; this copies only the rows it returns.
 */
export function sliceKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string')
    return runShipped('Slice', { inputs: args.inputs, backend: be, attrs: args.attrs });
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const out = be.makeOutput(size_, x.dtype);
  const src = be.typedArrayFromHeap(x);
  const dst = be.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  const rank = x.shape.length;
  if (rank === 0 || tf.slice_util.isSliceContinous(x.shape, begin_, size_)) {
    const start = tf.slice_util.computeFlatOffset(begin_, strides);
    dst.set(src.subarray(start, start + dst.length));
    return out;
  }
  // Strided: trailing axes taken whole merge with the last partial axis k into one contiguous run
  // (a [n, 34, 34, 3] -> [n, 32, 32, 3] crop copies runs of 32 * 3 floats); loop over axes < k.
  let k = rank - 1;
  while (k > 0 && begin_[k] === 0 && size_[k] === x.shape[k]) k--;
  const run = size_[k]! * (strides[k] ?? 1);
  const outer = dst.length / Math.max(run, 1);
  const index = new Array<number>(k).fill(0);
  for (let row = 0; row < outer; row++) {
    let offset = begin_[k]! * (strides[k] ?? 1);
    for (let a = 0; a < k; a++) offset += (begin_[a]! + index[a]!) * strides[a]!;
    const at = row * run;
    if (run < 16) for (let i = 0; i < run; i++) dst[at + i] = src[offset + i]!;
    else dst.set(src.subarray(offset, offset + run), at);
    for (let a = k - 1; a >= 0; a--) {
      if (++index[a]! < size_[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}
