import type * as tf from '@tensorflow/tfjs';
import { heapBuffer, heapF32, makeFloatOutput, offsetOf } from './heap.js';
import type { HeapOps } from './heap-ops.js';
import {
  biasActJs,
  col2imJs,
  colSumJs,
  convFilterGradJs,
  convForwardJs,
  convInputGradJs,
  flipFilterJs,
  im2colJs,
  maxPoolGradJs,
  maxPoolJs,
  reluGradJs,
  sgdJs,
} from './js-loops.js';
import { simdLoops } from './simd.js';
import { biasAddSimd, colSumSimd } from './simd-tiles.js';

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
 * The heap operations without the addon: the elementwise passes in wasm SIMD (simd.ts) where the
 * engine has it, every other loop in JS on heap views (js-loops.ts; also the SIMD passes' fallback),
 * and matrix products by the shipped wasm BatchMatMul kernel on its fast (non-transposed) path after
 * an explicit transpose. Both fallbacks give the SIMD loops' bits except the column sum (another order
 * of terms).
 */
export function wasmOps(shippedBatchMatMul: tf.KernelFunc): HeapOps {
  const ops: HeapOps = {
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
    direct: {
      forward: (be, x, w, bias, relu, y, cout, g) =>
        convForwardJs(heapF32(be), x >> 2, w >> 2, bias < 0 ? -1 : bias >> 2, relu, y >> 2, cout, g),
      filterGrad: (be, x, dy, dw, cout, g) =>
        convFilterGradJs(heapF32(be), x >> 2, dy >> 2, dw >> 2, cout, g),
      inputGrad: (be, dy, w, dx, cout, g) => convInputGradJs(heapF32(be), dy >> 2, w >> 2, dx >> 2, cout, g),
    },
    // the JS direct loops are checked against tfjs (test/backend/heap-ops.test.ts) but not chosen:
    // im2col + the shipped product is the path the wasm backend has always taken
    directMaxChannels: 0,
    maxPool: (be, x, y, g) => maxPoolJs(heapF32(be), x >> 2, y >> 2, g),
    maxPoolGrad: (be, x, dy, dx, g) => maxPoolGradJs(heapF32(be), x >> 2, dy >> 2, dx >> 2, g),
    colSum(be, x, out, rows, cols) {
      const loops = simdLoops(be);
      if (loops) colSumSimd(be, loops, x, out, rows, cols);
      else colSumJs(heapF32(be), x >> 2, out >> 2, rows, cols);
    },
    reluGrad(be, out, x, dy, n) {
      const loops = simdLoops(be);
      if (loops) loops.reluGrad(out, x, dy, n);
      else reluGradJs(heapF32(be), out >> 2, x >> 2, dy >> 2, n);
    },
    sgdUpdate(be, u) {
      const loops = simdLoops(be);
      if (loops) loops.sgd(u);
      else sgdJs(heapF32(be), u);
    },
    twoLayerStep(be, x, y, w, a, h, { batch, d, m }, lr, scale) {
      // the steps of native/src/two_layer.c: H = X W, then dZ over H, then W += X^T (-lr dZ)
      ops.gemm(be, false, false, batch, m, d, x, w, h, 0);
      const f32 = heapF32(be);
      const labels = new Int32Array(heapBuffer(be), y, batch);
      const [ho, ao] = [h >> 2, a >> 2];
      let loss = 0;
      let correct = 0;
      for (let i = 0; i < batch; i++) {
        const row = ho + i * m;
        let f = 0;
        for (let s = 0; s < m; s++) if (f32[row + s]! > 0) f += f32[ao + s]! * f32[row + s]!;
        f = Math.fround(f * scale);
        const sign = labels[i] === 1 ? 1 : -1;
        const z = sign * f;
        // softplus(-z) and sigmoid(-z), stable for large |z|
        loss += Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
        if (z > 0) correct++;
        const sig = z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
        const g = -lr * Math.fround(Math.fround((-sign * sig) / batch) * scale);
        for (let s = 0; s < m; s++) f32[row + s] = f32[row + s]! > 0 ? g * f32[ao + s]! : 0;
      }
      ops.gemm(be, true, false, d, m, batch, x, h, w, 1);
      return [loss, correct];
    },
    flipFilter: (be, w, out, kh, kw, c, cout) => flipFilterJs(heapF32(be), w >> 2, out >> 2, kh, kw, c, cout),
    biasAdd(be, x, bias, y, rows, cols) {
      const loops = simdLoops(be);
      if (loops) {
        biasAddSimd(be, loops, x, bias, y, rows, cols);
        return;
      }
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
  return ops;
}
