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
  // Strided: copy the innermost contiguous run (the last axis) for every index of the outer axes.
  const inner = size_[rank - 1]!;
  const outer = dst.length / Math.max(inner, 1);
  const index = new Array<number>(rank - 1).fill(0);
  for (let row = 0; row < outer; row++) {
    let offset = begin_[rank - 1]!;
    for (let a = 0; a < rank - 1; a++) offset += (begin_[a]! + index[a]!) * strides[a]!;
    dst.set(src.subarray(offset, offset + inner), row * inner);
    for (let a = rank - 2; a >= 0; a--) {
      if (++index[a]! < size_[a]!) break;
      index[a] = 0;
    }
  }
  return out;
}
