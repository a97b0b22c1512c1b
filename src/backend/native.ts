import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SgdArgs } from './heap-ops.js';

/**
 * The native addon (native/src/addon.c): the matrix product (the project's own packed sgemm, or
 * OpenBLAS / Accelerate where the build found one) and the C loops. Every function takes the wasm
 * heap's ArrayBuffer first and byte offsets into it, so it works on tensors in place.
 */
export interface NativeAddon {
  /** C = alpha op(A) op(B) + beta * C, row-major (cblas_sgemm's contract; alpha defaults to 1). */
  sgemm(
    buf: ArrayBuffer,
    transA: number,
    transB: number,
    m: number,
    n: number,
    k: number,
    aOff: number,
    lda: number,
    bOff: number,
    ldb: number,
    beta: number,
    cOff: number,
    ldc: number,
    alpha?: number,
  ): void;
  im2col(buf: ArrayBuffer, xOff: number, colOff: number, ...geom: number[]): void;
  col2im(buf: ArrayBuffer, colOff: number, dxOff: number, ...geom: number[]): void;
  /** y = act(conv2d(x, w) + bias) without im2col; w is [kh, kw, c, cout]; biasOff -1 for none; relu 1 or 0. */
  convForward(
    buf: ArrayBuffer,
    xOff: number,
    wOff: number,
    biasOff: number,
    relu: number,
    yOff: number,
    cout: number,
    ...geom: number[]
  ): void;
  /** dw of conv2d without im2col (dw overwritten). */
  convFilterGrad(
    buf: ArrayBuffer,
    xOff: number,
    dyOff: number,
    dwOff: number,
    cout: number,
    ...geom: number[]
  ): void;
  /** dx of conv2d without col2im (dx overwritten). */
  convInputGrad(
    buf: ArrayBuffer,
    dyOff: number,
    wOff: number,
    dxOff: number,
    cout: number,
    ...geom: number[]
  ): void;
  maxPool(buf: ArrayBuffer, xOff: number, yOff: number, ...geom: number[]): void;
  maxPoolGrad(buf: ArrayBuffer, xOff: number, dyOff: number, dxOff: number, ...geom: number[]): void;
  /** One fused SGD step of the two-layer net, W in place (native/src/two_layer.c); returns [summed loss, correct]. */
  twoLayerStep(
    buf: ArrayBuffer,
    xOff: number,
    yOff: number,
    wOff: number,
    aOff: number,
    hOff: number,
    batch: number,
    d: number,
    m: number,
    lr: number,
    scale: number,
  ): [number, number];
  /** One SGD step over n floats (SgdUpdate's fields in SgdArgs' order; native/src/conv_ops.h sgd_update). */
  sgd(buf: ArrayBuffer, ...args: SgdArgs): void;
  /** out[ky, kx, co, ci] = w[kh-1-ky, kw-1-kx, ci, co]. */
  flipFilter(
    buf: ArrayBuffer,
    wOff: number,
    outOff: number,
    kh: number,
    kw: number,
    c: number,
    cout: number,
  ): void;
  /** y[r, j] = x[r, j] + bias[j] for a [rows, cols] x. */
  biasAdd(buf: ArrayBuffer, xOff: number, biasOff: number, yOff: number, rows: number, cols: number): void;
  biasAct(
    buf: ArrayBuffer,
    yOff: number,
    rows: number,
    cols: number,
    biasOff: number,
    act: number,
    alpha: number,
    preluOff: number,
    preluLen: number,
  ): void;
  colSum(buf: ArrayBuffer, xOff: number, outOff: number, rows: number, cols: number): void;
  /** Most threads a product may use; products under `minMacs` multiply-adds (default 1e7) run on one. */
  setThreads(n: number, minMacs?: number): void;
  getThreads(): number;
  /** The system BLAS's build string (OpenBLAS's config, 'Accelerate'), or '' when built without one. */
  config(): string;
  /**
   * The matrix product in use, e.g. 'own packed AVX-512 (8x32)' or 'OpenBLAS 0.3.21 Haswell';
   * with a choice ('auto', 'own', or one of gemmChoices()) selects it first (throws a RangeError
   * when this build or CPU cannot run it).
   */
  gemm(choice?: string): string;
  /** The products gemm() accepts besides 'auto' and 'own': 'own-avx512', 'own-avx2', 'own-portable', 'openblas'... */
  gemmChoices(): string[];
}

/** Where the addon is built by scripts/build-native.mjs, relative to the package root. */
const ADDON_RELATIVE = join('native', 'build', 'Release', 'poisonlab_native.node');

/** Walks up from this file (src/backend or dist/src/backend) to the folder holding native/. */
function addonPath(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, ADDON_RELATIVE);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

let cached: { addon: NativeAddon | null; why: string } | undefined;

/**
 * Loads the native addon, or returns null (with the reason in `nativeLoadError()`) when it
 * was not built or cannot load. Loaded at most once per process.
 */
export function loadNative(): NativeAddon | null {
  if (cached) return cached.addon;
  const path = addonPath();
  if (!path) {
    cached = {
      addon: null,
      why: `${ADDON_RELATIVE} not built (run node scripts/build-native.mjs; needs a C compiler)`,
    };
    return null;
  }
  // OpenBLAS's idle threads spin for a while after each product and steal the (often only
  // two) cores from the loops that follow; a short timeout makes them sleep early.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  process.env.OMP_WAIT_POLICY ??= 'passive';
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    cached = { addon, why: '' };
  } catch (err) {
    cached = { addon: null, why: `${path} failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  return cached.addon;
}

/** Why the addon is unavailable ('' when it loaded, or before loadNative was called). */
export function nativeLoadError(): string {
  return cached?.why ?? '';
}
