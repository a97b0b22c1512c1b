import { heapBuffer, heapF32 } from './heap.js';
import { type HeapOps, sgdArgs } from './heap-ops.js';
import { reluGradJs } from './js-loops.js';
import type { NativeAddon } from './native.js';
import { simdLoops } from './simd.js';
import { colSumSimd } from './simd-tiles.js';
import { geomArgs } from './window-geom.js';

/**
 * The heap operations of the native addon (native/src): OpenBLAS products and C loops, threaded,
 * on the wasm heap's ArrayBuffer in place. Two have no C loop of their own and run as on the wasm
 * side: relu's gradient, and the column sum, whose SIMD pass (float32 tiles, then float64 per
 * column) is kept over the addon's col_sum (one float32 running sum per column) when SIMD is on.
 */
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
    // where the direct kernels beat im2col + sgemm (measured in docs/performance.md)
    directMaxChannels: 32,
    maxPool: (be, x, y, g) => addon.maxPool(heapBuffer(be), x, y, ...geomArgs(g)),
    maxPoolGrad: (be, x, dy, dx, g) => addon.maxPoolGrad(heapBuffer(be), x, dy, dx, ...geomArgs(g)),
    colSum(be, x, out, rows, cols) {
      const loops = simdLoops(be);
      if (loops) colSumSimd(be, loops, x, out, rows, cols);
      else addon.colSum(heapBuffer(be), x, out, rows, cols);
    },
    reluGrad(be, out, x, dy, n) {
      const loops = simdLoops(be);
      if (loops) loops.reluGrad(out, x, dy, n);
      else reluGradJs(heapF32(be), out >> 2, x >> 2, dy >> 2, n);
    },
    sgdUpdate: (be, u) => addon.sgd(heapBuffer(be), ...sgdArgs(u)),
    twoLayerStep: (be, x, y, w, a, h, { batch, d, m }, lr, scale) =>
      addon.twoLayerStep(heapBuffer(be), x, y, w, a, h, batch, d, m, lr, scale),
    flipFilter: (be, w, out, kh, kw, c, cout) => addon.flipFilter(heapBuffer(be), w, out, kh, kw, c, cout),
    biasAdd: (be, x, bias, y, rows, cols) => addon.biasAdd(heapBuffer(be), x, bias, y, rows, cols),
    biasAct: (be, y, rows, cols, bias, act, alpha, prelu, preluLen) =>
      addon.biasAct(heapBuffer(be), y, rows, cols, bias, act, alpha, prelu, preluLen),
  };
}
