import type { WasmBackend } from './heap.js';
import type { WindowGeom } from './window-geom.js';

/**
 * The primitive operations the project's kernels are built from, and the ONE place where a kernel's
 * work goes to the native addon or to WebAssembly: a kernel calls `heapOps().name(...)` and never
 * asks which side it runs on. Two complete implementations exist, chosen by initBackend:
 * nativeOps (native-ops.ts: the addon's C loops and BLAS) and wasmOps (wasm-ops.ts: the wasm SIMD
 * loops of simd.ts where they exist, else the JS loops of js-loops.ts, and the shipped wasm matrix
 * product). All offsets are BYTE offsets of contiguous row-major float32 arrays on the wasm heap.
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
  col2im(be: WasmBackend, col: number, dx: number, g: WindowGeom): void;
  /** Convolutions computed without a column matrix; `g` is the forward conv's geometry. */
  readonly direct: DirectConvOps;
  /**
   * Most channels (output channels; input channels for the input gradient) for which the conv kernels
   * take `direct` over im2col + gemm on this side; 0: never.
   */
  readonly directMaxChannels: number;
  maxPool(be: WasmBackend, x: number, y: number, g: WindowGeom): void;
  maxPoolGrad(be: WasmBackend, x: number, dy: number, dx: number, g: WindowGeom): void;
  /** out[j] = sum_r x[r, j] for a [rows, cols] matrix. */
  colSum(be: WasmBackend, x: number, out: number, rows: number, cols: number): void;
  /** out = x > 0 ? dy : 0 over n floats (relu's gradient at x). */
  reluGrad(be: WasmBackend, out: number, x: number, dy: number, n: number): void;
  /** PyTorch's SGD step over u.n floats (see SgdUpdate). */
  sgdUpdate(be: WasmBackend, u: SgdUpdate): void;
  /**
   * One fused minibatch SGD step of the theory's two-layer net (plain SGD, logistic loss, mean over the
   * batch; see native/src/two_layer.c): x [batch, d], int32 labels y in {0, 1}, w [d, m] updated IN
   * PLACE, a [m], scratch h [batch, m]. Returns the batch's summed loss and its number of correct signs,
   * before the update.
   */
  twoLayerStep(
    be: WasmBackend,
    x: number,
    y: number,
    w: number,
    a: number,
    h: number,
    dims: { batch: number; d: number; m: number },
    lr: number,
    scale: number,
  ): [number, number];
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

/** PyTorch's SGD settings (torch.optim.SGD with dampening 0, no Nesterov; see train/sgd.ts). */
export interface SgdSettings {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/**
 * One SGD update of n floats at byte offsets on the heap, in PyTorch's order:
 *   g' = g + weightDecay * w (when weightDecay > 0);  v' = momentum * v + g' (when momentum > 0, to outV);
 *   outW = w - lr * (v' or g').
 * Every implementation does these float32 operations in this order, so all give tfjs's bits. Outputs
 * may alias w / v (an update in place); outV and v are not read without momentum.
 */
export interface SgdUpdate extends SgdSettings {
  outW: number;
  outV: number;
  w: number;
  g: number;
  v: number;
  n: number;
}

/** The update's fields in the order the addon's and the SIMD module's sgd functions take them. */
export type SgdArgs = [
  outW: number,
  outV: number,
  w: number,
  g: number,
  v: number,
  n: number,
  lr: number,
  momentum: number,
  weightDecay: number,
];

/** SgdUpdate as SgdArgs. */
export function sgdArgs(u: SgdUpdate): SgdArgs {
  return [u.outW, u.outV, u.w, u.g, u.v, u.n, u.lr, u.momentum, u.weightDecay];
}
