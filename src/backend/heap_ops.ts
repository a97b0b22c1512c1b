import type * as tf from '@tensorflow/tfjs';
import { heapBuffer, heapF32, makeFloatOutput, offsetOf, type WasmBackend } from './heap.js';
import {
  biasActJs,
  col2imJs,
  colSumJs,
  flipFilterJs,
  im2colJs,
  maxPoolGradJs,
  maxPoolJs,
} from './js_loops.js';
import type { NativeAddon } from './native.js';
import { geomArgs, type WindowGeom } from './window_geom.js';

/**
 * The primitive operations the project's kernels are built from. All offsets are BYTE offsets
 * of contiguous row-major float32 arrays on the wasm heap.
 */
export interface HeapOps {
  readonly name: 'native' | 'wasm';
  /** C[m,n] = op(A) op(B) + beta C, op(A) is [m,k], op(B) is [k,n]; A is [k,m] when transA. */
  gemm(
    be: WasmBackend,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: number,
    b: number,
    c: number,
    beta: 0 | 1,
  ): void;
  im2col(be: WasmBackend, x: number, col: number, g: WindowGeom): void;
  /** Direct (im2col-free) convolutions, native only; `g` is the forward conv's geometry. */
  readonly direct?: DirectConvOps;
  col2im(be: WasmBackend, col: number, dx: number, g: WindowGeom): void;
  maxPool(be: WasmBackend, x: number, y: number, g: WindowGeom): void;
  maxPoolGrad(be: WasmBackend, x: number, dy: number, dx: number, g: WindowGeom): void;
  /** out[j] = sum_r x[r, j] for a [rows, cols] matrix. */
  colSum(be: WasmBackend, x: number, out: number, rows: number, cols: number): void;
  /**
   * PyTorch's SGD step over n floats, threaded (native only; elsewhere the wasm SIMD loop of
   * src/backend/simd.ts): outW = w - lr * (momentum * v + g + wd * w), outV the new velocity.
   */
  readonly sgd?: (
    be: WasmBackend,
    outW: number,
    outV: number,
    w: number,
    g: number,
    v: number,
    n: number,
    lr: number,
    momentum: number,
    weightDecay: number,
  ) => void;
  /**
   * One fused minibatch SGD step of the theory's two-layer net (native only, native/src/two_layer.c):
   * x [batch, d], int32 labels y in {0, 1}, w [d, m] updated IN PLACE, a [m], scratch h [batch, m].
   * Returns the batch's summed logistic loss and its number of correct signs, before the update.
   */
  readonly twoLayerStep?: (
    be: WasmBackend,
    x: number,
    y: number,
    w: number,
    a: number,
    h: number,
    dims: { batch: number; d: number; m: number },
    lr: number,
    scale: number,
  ) => [number, number];
  /** out[ky, kx, co, ci] = w[kh-1-ky, kw-1-kx, ci, co] (the filter of a stride-1 conv's input gradient). */
  flipFilter(be: WasmBackend, w: number, out: number, kh: number, kw: number, c: number, cout: number): void;
  /** y[r, j] = x[r, j] + bias[j] for a [rows, cols] x (y a separate array). */
  biasAdd(be: WasmBackend, x: number, bias: number, y: number, rows: number, cols: number): void;
  /** y[r,j] = act(y[r,j] + bias[j]); bias / prelu < 0 mean none; preluLen is 1 or cols. */
  biasAct(
    be: WasmBackend,
    y: number,
    rows: number,
    cols: number,
    bias: number,
    act: number,
    alpha: number,
    prelu: number,
    preluLen: number,
  ): void;
}

/** Convolutions computed without a column matrix (see native/src/conv_direct.c). */
export interface DirectConvOps {
  /** y[n,oh,ow,cout] = act(conv2d(x, w) + bias), w is [kh, kw, c, cout]; bias < 0 for none; act relu or identity. */
  forward(
    be: WasmBackend,
    x: number,
    w: number,
    bias: number,
    relu: boolean,
    y: number,
    cout: number,
    g: WindowGeom,
  ): void;
  /** dw[kh,kw,c,cout] of the conv (overwritten). */
  filterGrad(be: WasmBackend, x: number, dy: number, dw: number, cout: number, g: WindowGeom): void;
  /** dx[n,h,w,c] of the conv (overwritten). */
  inputGrad(be: WasmBackend, dy: number, w: number, dx: number, cout: number, g: WindowGeom): void;
}

/** Operations run by OpenBLAS and C loops directly on the heap. */
export function nativeOps(addon: NativeAddon): HeapOps {
  return {
    name: 'native',
    gemm(be, ta, tb, m, n, k, a, b, c, beta) {
      addon.sgemm(heapBuffer(be), +ta, +tb, m, n, k, a, ta ? m : k, b, tb ? k : n, beta, c, n);
    },
    im2col: (be, x, col, g) => addon.im2col(heapBuffer(be), x, col, ...geomArgs(g)),
    col2im: (be, col, dx, g) => addon.col2im(heapBuffer(be), col, dx, ...geomArgs(g)),
    direct: {
      forward: (be, x, w, bias, relu, y, cout, g) =>
        addon.convForward(heapBuffer(be), x, w, bias, +relu, y, cout, ...geomArgs(g)),
      filterGrad: (be, x, dy, dw, cout, g) =>
        addon.convFilterGrad(heapBuffer(be), x, dy, dw, cout, ...geomArgs(g)),
      inputGrad: (be, dy, w, dx, cout, g) =>
        addon.convInputGrad(heapBuffer(be), dy, w, dx, cout, ...geomArgs(g)),
    },
    maxPool: (be, x, y, g) => addon.maxPool(heapBuffer(be), x, y, ...geomArgs(g)),
    maxPoolGrad: (be, x, dy, dx, g) => addon.maxPoolGrad(heapBuffer(be), x, dy, dx, ...geomArgs(g)),
    colSum: (be, x, out, rows, cols) => addon.colSum(heapBuffer(be), x, out, rows, cols),
    twoLayerStep: (be, x, y, w, a, h, { batch, d, m }, lr, scale) =>
      addon.twoLayerStep(heapBuffer(be), x, y, w, a, h, batch, d, m, lr, scale),
    sgd: (be, outW, outV, w, g, v, n, lr, momentum, wd) =>
      addon.sgd(heapBuffer(be), outW, outV, w, g, v, n, lr, momentum, wd),
    flipFilter: (be, w, out, kh, kw, c, cout) => addon.flipFilter(heapBuffer(be), w, out, kh, kw, c, cout),
    biasAdd: (be, x, bias, y, rows, cols) => addon.biasAdd(heapBuffer(be), x, bias, y, rows, cols),
    biasAct: (be, y, rows, cols, bias, act, alpha, prelu, preluLen) =>
      addon.biasAct(heapBuffer(be), y, rows, cols, bias, act, alpha, prelu, preluLen),
  };
}

/** Copies a [rows, cols] float matrix at byte offset `src` into `dst`, transposed if asked. */
function copyMatrix(
  h: Float32Array,
  src: number,
  dst: number,
  rows: number,
  cols: number,
  transpose: boolean,
): void {
  const s = src >> 2;
  const d = dst >> 2;
  if (!transpose) {
    h.copyWithin(d, s, s + rows * cols);
    return;
  }
  // dst[j, i] = src[i, j], in 32x32 tiles to stay in cache
  const T = 32;
  for (let i0 = 0; i0 < rows; i0 += T) {
    const i1 = Math.min(rows, i0 + T);
    for (let j0 = 0; j0 < cols; j0 += T) {
      const j1 = Math.min(cols, j0 + T);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) h[d + j * rows + i] = h[s + i * cols + j];
    }
  }
}

/**
 * Pure-wasm operations: the loops in JS on heap views, and matrix products by the shipped
 * wasm BatchMatMul kernel on its fast (non-transposed) path after an explicit transpose.
 */
export function wasmOps(shippedBatchMatMul: tf.KernelFunc): HeapOps {
  return {
    name: 'wasm',
    gemm(be, ta, tb, m, n, k, a, b, c, beta) {
      if (m === 0 || n === 0) return;
      const at = makeFloatOutput(be, [1, m, k]);
      const bt = makeFloatOutput(be, [1, k, n]);
      let h = heapF32(be);
      copyMatrix(h, a, at.off, ta ? k : m, ta ? m : k, ta);
      copyMatrix(h, b, bt.off, tb ? n : k, tb ? k : n, tb);
      const out = shippedBatchMatMul({
        inputs: { a: at.info, b: bt.info },
        backend: be,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      h = heapF32(be);
      const o = offsetOf(be, out) >> 2;
      const cc = c >> 2;
      if (beta === 0) h.copyWithin(cc, o, o + m * n);
      else for (let i = 0; i < m * n; i++) h[cc + i] += h[o + i];
      be.disposeData(at.info.dataId);
      be.disposeData(bt.info.dataId);
      be.disposeData(out.dataId);
    },
    im2col: (be, x, col, g) => im2colJs(heapF32(be), x >> 2, col >> 2, g),
    col2im: (be, col, dx, g) => col2imJs(heapF32(be), col >> 2, dx >> 2, g),
    maxPool: (be, x, y, g) => maxPoolJs(heapF32(be), x >> 2, y >> 2, g),
    maxPoolGrad: (be, x, dy, dx, g) => maxPoolGradJs(heapF32(be), x >> 2, dy >> 2, dx >> 2, g),
    colSum: (be, x, out, rows, cols) => colSumJs(heapF32(be), x >> 2, out >> 2, rows, cols),
    flipFilter: (be, w, out, kh, kw, c, cout) => flipFilterJs(heapF32(be), w >> 2, out >> 2, kh, kw, c, cout),
    biasAdd(be, x, bias, y, rows, cols) {
      const h = heapF32(be);
      h.copyWithin(y >> 2, x >> 2, (x >> 2) + rows * cols);
      biasActJs(h, y >> 2, rows, cols, bias >> 2, 0, 0, -1, 1);
    },
    biasAct: (be, y, rows, cols, bias, act, alpha, prelu, preluLen) =>
      biasActJs(
        heapF32(be),
        y >> 2,
        rows,
        cols,
        bias < 0 ? -1 : bias >> 2,
        act,
        alpha,
        prelu < 0 ? -1 : prelu >> 2,
        preluLen,
      ),
  };
}
