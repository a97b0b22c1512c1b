import * as tf from '@tensorflow/tfjs';
import { heapF32, makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import { type SimdLoops, simdLoops } from '../simd.js';
import { forgetCol } from './col_cache.js';
import { heapOps, type KernelArgs } from './state.js';

/** The update as one fast pass over the heap: the addon's when loaded, else the wasm SIMD loop, else null. */
function fastSgdPass(be: WasmBackend): SimdLoops['sgd'] | null {
  const native = heapOps().sgd;
  if (native) return (...args) => native(be, ...args);
  return simdLoops(be)?.sgd ?? null;
}

/**
 * PoisonlabSgdUpdate for 'wasm': inputs w, g (and v with momentum), attrs lr, momentum,
 * weightDecay; outputs [w'] or [w', v'] in fresh tensors, in one pass over the heap (fastSgdPass, else
 * JS) instead of two to four elementwise kernels per variable. Same float32 operations in the same
 * order as the tfjs formula of train/sgd.ts, so the same bits.
 */
export function sgdUpdateKernel(args: KernelArgs): tf.TensorInfo[] {
  const be = args.backend as WasmBackend;
  const { w, g, v } = args.inputs as Partial<KernelArgs['inputs']>;
  const { lr, momentum, weightDecay } = args.attrs as { lr: number; momentum: number; weightDecay: number };
  if (!w || !g || (momentum > 0 && !v)) throw new Error('sgd update: missing inputs');
  const n = tf.util.sizeFromShape(w.shape);
  const outW = makeFloatOutput(be, [...w.shape]);
  const outV = momentum > 0 ? makeFloatOutput(be, [...w.shape]) : undefined;
  const [wo, go, vo] = [offsetOf(be, w), offsetOf(be, g), v && momentum > 0 ? offsetOf(be, v) : 0];
  const pass = fastSgdPass(be);
  if (pass) pass(outW.off, outV?.off ?? 0, wo, go, vo, n, lr, momentum, weightDecay);
  else
    sgdJs(
      heapF32(be),
      outW.off >> 2,
      (outV?.off ?? 0) >> 2,
      wo >> 2,
      go >> 2,
      vo >> 2,
      n,
      lr,
      momentum,
      weightDecay,
    );
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
  attrs: { lr: number; momentum: number; weightDecay: number },
): boolean {
  const pass = fastSgdPass(be);
  if (!pass || be.refCount(w.dataId) !== 1 || (v && be.refCount(v.dataId) !== 1)) return false;
  forgetCol(be, w.dataId); // a conv's kept im2col of w (w as a conv input) would go stale
  const wo = offsetOf(be, w);
  const vo = v ? offsetOf(be, v) : 0;
  const n = tf.util.sizeFromShape(w.shape);
  pass(wo, vo, wo, offsetOf(be, g), vo, n, attrs.lr, attrs.momentum, attrs.weightDecay);
  return true;
}

/** The same update in JS (float offsets; the fallback without SIMD), rounding to float32 after every operation as tfjs does. */
export function sgdJs(
  h: Float32Array,
  ow: number,
  ov: number,
  w: number,
  g: number,
  v: number,
  n: number,
  lr: number,
  momentum: number,
  wd: number,
): void {
  const f = Math.fround;
  const [flr, fm, fwd] = [f(lr), f(momentum), f(wd)];
  for (let i = 0; i < n; i++) {
    let gi = h[g + i]!;
    if (wd > 0) gi = f(gi + f(h[w + i]! * fwd));
    if (momentum > 0) {
      gi = f(f(h[v + i]! * fm) + gi);
      h[ov + i] = gi;
    }
    h[ow + i] = h[w + i]! - f(gi * flr);
  }
}
