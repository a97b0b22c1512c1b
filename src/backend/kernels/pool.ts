import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { geomFromInfo, type WindowGeom } from '../window-geom.js';
import type { KernelArgs } from './state.js';
import { heapOps, runShipped } from './state.js';

/** Window geometry of a max pool over NHWC `xShape`. */
function poolGeometry(xShape: number[], attrs: tf.NamedAttrMap): WindowGeom {
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize as [number, number] | number,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  return geomFromInfo(info);
}

/** MaxPool for 'wasm' (float32 NHWC). */
export function maxPoolKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x } = args.inputs;
  const attrs = args.attrs ?? {};
  if (x.dtype !== 'float32') return runShipped('MaxPool', { inputs: args.inputs, backend: be, attrs });
  const g = poolGeometry(x.shape, attrs);
  const y = makeFloatOutput(be, [g.n, g.oh, g.ow, g.c]);
  heapOps().maxPool(be, offsetOf(be, x), y.off, g);
  return y.info;
}

/** MaxPoolGrad for 'wasm': dy goes to the first maximum of each window (as tfjs's cpu backend). */
export function maxPoolGradKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { dy, input } = args.inputs;
  const attrs = args.attrs ?? {};
  const g = poolGeometry(input.shape, attrs);
  const dx = makeFloatOutput(be, [...input.shape]);
  heapOps().maxPoolGrad(be, offsetOf(be, input), offsetOf(be, dy), dx.off, g);
  return dx.info;
}
