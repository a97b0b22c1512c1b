import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from '../heap.js';
import { type KernelArgs, runShipped } from './state.js';

/**
 * GatherV2 for 'wasm' that copies whole slices through views of the heap. The shipped kernel computes every
 * element's source index on its own (about 40 ns per float here): taking 128 rows of 784 floats cost ~4 ms, so
 * the attack's three gathers per step and its per-epoch reordering took about half of every ascent epoch, and a
 * training epoch's minibatch gathers about a third of a narrow network's epoch. Here each gathered slice (the
 * trailing axes after `axis`, e.g. one image) is one contiguous copy.
 *   out[b, o, i, :] = x[b, o, indices[b, i], :]   (b: batchDims, o: the axes before `axis`, i: the indices)
 */
export function gatherKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  if (x.dtype === 'string' || x.dtype === 'complex64')
    return runShipped('GatherV2', { inputs: args.inputs, backend: be, attrs: args.attrs });
  const { axis, batchDims } = args.attrs as { axis: number; batchDims?: number };
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const axisDim = x.shape[parsedAxis]!;
  const checked = be.typedArrayFromHeap(indices);
  for (let i = 0; i < checked.length; i++) {
    const v = checked[i]!;
    // the cpu backend's own check, with its message
    if (!(v >= 0 && v <= axisDim - 1))
      throw new Error(`GatherV2: the index value ${v} is not in [0, ${axisDim - 1}]`);
  }
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor,
    indices as tf.Tensor,
    parsedAxis,
    batchDims ?? 0,
  );
  const out = be.makeOutput(info.outputShape, x.dtype);
  if (tf.util.sizeFromShape(info.outputShape) === 0) return out;
  // views taken after the output is allocated: an allocation can grow the heap and detach older views
  const idx = be.typedArrayFromHeap(indices);
  const src = be.typedArrayFromHeap(x);
  const dst = be.typedArrayFromHeap(out);
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const perBatch = idx.length / batchSize;
  let at = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = (b * outerSize + o) * dimSize;
      for (let i = 0; i < perBatch; i++) {
        const from = (base + idx[b * perBatch + i]!) * sliceSize;
        if (sliceSize < 16) for (let s = 0; s < sliceSize; s++) dst[at + s] = src[from + s]!;
        else dst.set(src.subarray(from, from + sliceSize), at);
        at += sliceSize;
      }
    }
  }
  return out;
}

/**
 * UnsortedSegmentSum for 'wasm', which ships none, so that gather is differentiable there (tfjs's GatherV2
 * gradient calls it): out[s, :] = sum of x[i, :] over the positions i (of segmentIds' shape, x's leading axes)
 * whose id is s; ids outside [0, numSegments) add nothing, as on the cpu backend.
 */
export function unsortedSegmentSumKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as { numSegments: number };
  const inner = x.shape.slice(segmentIds.shape.length);
  const out = be.makeOutput([numSegments, ...inner], x.dtype);
  const src = be.typedArrayFromHeap(x);
  const ids = be.typedArrayFromHeap(segmentIds);
  const dst = be.typedArrayFromHeap(out);
  dst.fill(0);
  const size = tf.util.sizeFromShape(inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (!(s >= 0 && s < numSegments)) continue;
    const from = i * size;
    const to = s * size;
    for (let k = 0; k < size; k++) dst[to + k]! += src[from + k]!;
  }
  return out;
}
