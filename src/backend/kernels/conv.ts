import * as tf from '@tensorflow/tfjs';
import { heapFree, heapMalloc, makeFloatOutput, offsetOf, type WasmBackend } from '../heap.js';
import type { DirectConvOps } from '../heap-ops.js';
import { geomFromInfo, type WindowGeom } from '../window-geom.js';
import { keepCol, takeCol } from './col-cache.js';
import { applyEpilogue, biasRelu } from './epilogue.js';
import { COL_CHUNK_FLOATS, directConvEnabled, heapOps, runShipped } from './state.js';

// Convolutions as matrix products (NHWC, dilation 1). With K = kh*kw*cin and the filter
// [kh, kw, cin, cout] read as a [K, cout] matrix W, and col = im2col(x) of shape [n*oh*ow, K]:
//   forward          y  = col . W
//   input gradient   dx = col2im(dy . W^T)
//   filter gradient  dW = col^T . dy
// Batches are processed in chunks so the im2col scratch stays under COL_CHUNK_FLOATS.
// Convolutions with few channels skip the column matrix altogether where the heap ops say so
// (directMaxChannels; the native side's direct kernels, native/src/conv_direct.c): there im2col is
// memory bound, as the column matrix of a 5x5 window is 25 times the input.

import type { KernelArgs } from './state.js';

/** The window geometry of a conv, or null when it is not NHWC with dilation 1. */
function geometry(info: tf.backend_util.Conv2DInfo): WindowGeom | null {
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1)
    return null;
  return geomFromInfo(info);
}

/** A 1x1, stride-1, unpadded conv is a plain matrix product: no im2col needed. */
function isPointwise(g: WindowGeom): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop === 0 && g.padLeft === 0;
}

/**
 * The direct kernels when the heap ops take them for a conv with `channels` channels on the side they
 * vectorise (output channels; input channels for the input gradient), else null.
 */
function directFor(g: WindowGeom, channels: number): DirectConvOps | null {
  const ops = heapOps();
  if (!directConvEnabled() || isPointwise(g) || channels > ops.directMaxChannels) return null;
  return ops.direct;
}

/** Calls `body(n0, count, colOff)` for batch chunks, with an im2col scratch buffer sized for `count` images. */
function forChunks(
  be: WasmBackend,
  g: WindowGeom,
  body: (n0: number, count: number, col: number) => void,
): void {
  const perImage = g.oh * g.ow * g.kh * g.kw * g.c;
  const chunk = Math.max(1, Math.min(g.n, Math.floor(COL_CHUNK_FLOATS / Math.max(1, perImage))));
  const col = heapMalloc(be, chunk * perImage * 4);
  try {
    for (let n0 = 0; n0 < g.n; n0 += chunk) body(n0, Math.min(chunk, g.n - n0), col);
  } finally {
    heapFree(be, col);
  }
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
): tf.backend_util.Conv2DInfo {
  const dataFormat = tf.backend_util.convertConv2DDataFormat((attrs.dataFormat as 'NHWC' | 'NCHW') ?? 'NHWC');
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    (attrs.dilations as [number, number] | number) ?? 1,
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    false,
    dataFormat,
  );
}

/**
 * y = conv2d(x, filter) (+ bias, a vector of the output channels, when given; then relu when asked)
 * on the heap, or null if the geometry is not covered.
 */
export function conv2dOnHeap(
  be: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.NamedAttrMap,
  bias?: tf.TensorInfo,
  relu = false,
): tf.TensorInfo | null {
  const info = convInfo(x.shape, filter.shape, attrs);
  const g = geometry(info);
  if (!g || x.dtype !== 'float32') return null;
  const cout = info.outChannels;
  const K = g.kh * g.kw * g.c;
  const out = makeFloatOutput(be, [g.n, g.oh, g.ow, cout]);
  const ops = heapOps();
  const w = offsetOf(be, filter);
  const direct = directFor(g, cout);
  if (direct) {
    // the direct kernel adds the bias (and applies relu) as it stores each tile
    direct.forward(be, offsetOf(be, x), w, bias ? offsetOf(be, bias) : -1, relu, out.off, cout, g);
    return out.info;
  }
  // the product paths below, then bias and relu in one pass over y
  const finish = () => {
    biasRelu(be, out.off, g.n * g.oh * g.ow, cout, bias, relu);
    return out.info;
  };
  if (isPointwise(g)) {
    ops.gemm(be, false, false, g.n * g.h * g.w, cout, K, offsetOf(be, x), w, out.off, 0);
    return finish();
  }
  const colBytes = g.n * g.oh * g.ow * K * 4;
  if (colBytes <= COL_CHUNK_FLOATS * 4) {
    // the whole batch in one product; the col matrix is kept for the filter gradient
    const col = heapMalloc(be, colBytes);
    try {
      ops.im2col(be, offsetOf(be, x), col, g);
      ops.gemm(be, false, false, g.n * g.oh * g.ow, cout, K, col, w, out.off, 0);
    } catch (e) {
      heapFree(be, col);
      throw e;
    }
    if (!keepCol(be, x.dataId, g, col, colBytes)) heapFree(be, col);
    return finish();
  }
  forChunks(be, g, (n0, count, col) => {
    const xo = offsetOf(be, x) + n0 * g.h * g.w * g.c * 4;
    ops.im2col(be, xo, col, { ...g, n: count });
    ops.gemm(
      be,
      false,
      false,
      count * g.oh * g.ow,
      cout,
      K,
      col,
      w,
      out.off + n0 * g.oh * g.ow * cout * 4,
      0,
    );
  });
  return finish();
}

/** Conv2D for 'wasm' (NHWC, dilation 1; anything else goes to the shipped kernel). */
export function conv2dKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, filter } = args.inputs;
  const attrs = args.attrs ?? {};
  return (
    conv2dOnHeap(be, x, filter, attrs) ?? runShipped('Conv2D', { inputs: args.inputs, backend: be, attrs })
  );
}

/** FusedConv2D for 'wasm': conv, then bias + activation. */
export function fusedConv2dKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, filter } = args.inputs;
  const { bias, preluActivationWeights } = args.inputs as Partial<typeof args.inputs>;
  const attrs = args.attrs ?? {};
  // a per-channel bias (and a relu after it) go into the convolution itself; the rest to the epilogue
  const cout = filter.shape[3]!;
  const channelBias = bias && tf.util.sizeFromShape(bias.shape) === cout ? bias : undefined;
  const relu = attrs.activation === 'relu' && (channelBias !== undefined || !bias);
  const y = conv2dOnHeap(be, x, filter, attrs, channelBias, relu);
  if (!y) return runShipped('FusedConv2D', { inputs: args.inputs, backend: be, attrs });
  if (relu) return y;
  return applyEpilogue(
    be,
    y,
    cout,
    channelBias ? undefined : bias,
    preluActivationWeights,
    attrs.activation as string | undefined,
    attrs.leakyreluAlpha as number | undefined,
  );
}

/**
 * The input gradient of a stride-1 conv as a convolution: dx = conv(dy padded by k - 1 - pad, the
 * filter flipped in space with in/out channels swapped), i.e. im2col of dy and one product, with
 * no col2im scatter over a column matrix (AlexNet's conv4, 384 -> 256 channels: 35 -> 21 ms).
 */
function inputGradAsConv(
  be: WasmBackend,
  dy: number,
  w: number,
  dx: number,
  cout: number,
  g: WindowGeom,
): void {
  const ops = heapOps();
  const flipped = heapMalloc(be, g.kh * g.kw * g.c * cout * 4);
  try {
    ops.flipFilter(be, w, flipped, g.kh, g.kw, g.c, cout);
    const t: WindowGeom = {
      n: g.n,
      h: g.oh,
      w: g.ow,
      c: cout,
      kh: g.kh,
      kw: g.kw,
      sh: 1,
      sw: 1,
      padTop: g.kh - 1 - g.padTop,
      padLeft: g.kw - 1 - g.padLeft,
      oh: g.h,
      ow: g.w,
    };
    const K = g.kh * g.kw * cout;
    forChunks(be, t, (n0, count, col) => {
      ops.im2col(be, dy + n0 * g.oh * g.ow * cout * 4, col, { ...t, n: count });
      ops.gemm(be, false, false, count * g.h * g.w, g.c, K, col, flipped, dx + n0 * g.h * g.w * g.c * 4, 0);
    });
  } finally {
    heapFree(be, flipped);
  }
}

/** Conv2DBackpropInput for 'wasm': dx = col2im(dy . W^T), or a conv of dy for stride 1. */
export function conv2dBackpropInputKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { dy, filter } = args.inputs;
  const attrs = args.attrs ?? {};
  const info = convInfo(attrs.inputShape as number[], filter.shape, attrs);
  const g = geometry(info);
  if (!g) return runShipped('Conv2DBackpropInput', { inputs: args.inputs, backend: be, attrs });
  const cout = info.outChannels;
  const K = g.kh * g.kw * g.c;
  const dx = makeFloatOutput(be, [g.n, g.h, g.w, g.c]);
  const ops = heapOps();
  const w = offsetOf(be, filter);
  if (isPointwise(g)) {
    ops.gemm(be, false, true, g.n * g.h * g.w, K, cout, offsetOf(be, dy), w, dx.off, 0);
    return dx.info;
  }
  // the direct input gradient (it vectorises over the kw*c entries of a window row) beats im2col
  // even on a first layer's 5x1 rows (the MNIST attack's dx: 3.1 -> ~1.5 ms)
  const direct = directFor(g, g.c);
  if (direct) {
    direct.inputGrad(be, offsetOf(be, dy), w, dx.off, cout, g);
    return dx.info;
  }
  // stride 1 with no more output than input channels: the conv form's column matrix (k*k*cout wide)
  // is at most col2im's (k*k*c wide), and it skips the scatter
  if (g.sh === 1 && g.sw === 1 && g.padTop < g.kh && g.padLeft < g.kw && cout <= g.c) {
    inputGradAsConv(be, offsetOf(be, dy), w, dx.off, cout, g);
    return dx.info;
  }
  forChunks(be, g, (n0, count, col) => {
    const dyo = offsetOf(be, dy) + n0 * g.oh * g.ow * cout * 4;
    ops.gemm(be, false, true, count * g.oh * g.ow, K, cout, dyo, w, col, 0);
    ops.col2im(be, col, dx.off + n0 * g.h * g.w * g.c * 4, { ...g, n: count });
  });
  return dx.info;
}

/** Conv2DBackpropFilter for 'wasm' (missing in the shipped backend): dW = col^T . dy. */
export function conv2dBackpropFilterKernel(args: KernelArgs): tf.TensorInfo {
  const be = args.backend as WasmBackend;
  const { x, dy } = args.inputs;
  const attrs = args.attrs ?? {};
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs);
  const g = geometry(info);
  if (!g) throw new Error('Conv2DBackpropFilter on wasm supports NHWC with dilation 1 only');
  const cout = info.outChannels;
  const K = g.kh * g.kw * g.c;
  const dw = makeFloatOutput(be, filterShape);
  const ops = heapOps();
  if (isPointwise(g)) {
    ops.gemm(be, true, false, K, cout, g.n * g.h * g.w, offsetOf(be, x), offsetOf(be, dy), dw.off, 0);
    return dw.info;
  }
  const kept = takeCol(be, x.dataId, g);
  const direct = kept === null ? directFor(g, cout) : null;
  if (direct) {
    direct.filterGrad(be, offsetOf(be, x), offsetOf(be, dy), dw.off, cout, g);
    return dw.info;
  }
  if (kept !== null) {
    // im2col(x) from the forward pass of the same input
    try {
      ops.gemm(be, true, false, K, cout, g.n * g.oh * g.ow, kept, offsetOf(be, dy), dw.off, 0);
    } finally {
      heapFree(be, kept);
    }
    return dw.info;
  }
  forChunks(be, g, (n0, count, col) => {
    ops.im2col(be, offsetOf(be, x) + n0 * g.h * g.w * g.c * 4, col, { ...g, n: count });
    const dyo = offsetOf(be, dy) + n0 * g.oh * g.ow * cout * 4;
    ops.gemm(be, true, false, K, cout, count * g.oh * g.ow, col, dyo, dw.off, n0 === 0 ? 0 : 1);
  });
  return dw.info;
}
