import * as tf from '@tensorflow/tfjs';
import { makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import type { SgdSettings } from '../heap-ops.js';
import { forgetCol } from './col-cache.js';
import { heapOps, type KernelArgs } from './state.js';

/**
 * PoisonlabSgdUpdate for 'wasm': inputs w, g (and v with momentum), attrs SgdSettings; outputs [w']
 * or [w', v'] in fresh tensors, in one pass of the heap ops' sgdUpdate instead of two to four
 * elementwise kernels per variable. Same float32 operations in the same order as the tfjs formula
 * of train/sgd.ts, so the same bits.
 */
export function sgdUpdateKernel(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as WasmBackend;
  const { w, g, v } = args.inputs as Partial<KernelArgs['inputs']>;
  const settings = args.attrs as unknown as SgdSettings;
  const momentum = settings.momentum > 0;
  if (!w || !g || (momentum && !v)) throw new Error('sgd update: missing inputs');
  const outW = makeFloatOutput(be, [...w.shape]);
  const outV = momentum ? makeFloatOutput(be, [...w.shape]) : undefined;
  heapOps().sgdUpdate(be, {
    outW: outW.off,
    outV: outV?.off ?? 0,
    w: offsetOf(be, w),
    g: offsetOf(be, g),
    v: v && momentum ? offsetOf(be, v) : 0,
    n: tf.util.sizeFromShape(w.shape),
    lr: settings.lr,
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
  });
  return outV ? [outW.info, outV.info] : [outW.info];
}

/**
 * The same update written over w (and v) in place, when the backend's reference count of each is 1,
 * i.e. no other tensor (clone, reshape, a tape's saved copy, the gradient itself) shares its data,
 * so nothing but the variable can observe the write. Returns false, having done nothing, otherwise.
 * Saves the output allocation and a third of the memory traffic on large layers.
 */
export function sgdUpdateInPlace(
  be: WasmBackend,
  w: tf.TensorInfo,
  g: tf.TensorInfo,
  v: tf.TensorInfo | undefined,
  settings: SgdSettings,
): boolean {
  if (be.refCount(w.dataId) !== 1 || (v && be.refCount(v.dataId) !== 1)) return false;
  forgetCol(be, w.dataId); // a conv's kept im2col of w (w as a conv input) would go stale
  const wo = offsetOf(be, w);
  const vo = v ? offsetOf(be, v) : 0;
  heapOps().sgdUpdate(be, {
    outW: wo,
    outV: vo,
    w: wo,
    g: offsetOf(be, g),
    v: vo,
    n: tf.util.sizeFromShape(w.shape),
    lr: settings.lr,
    momentum: settings.momentum,
    weightDecay: settings.weightDecay,
  });
  return true;
}
