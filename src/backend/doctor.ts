import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from './index.js';
import { availableBytes, WASM_HEAP_LIMIT_BYTES } from './memory.js';
import { loadNative, nativeLoadError } from './native.js';

/** What `poisonlab doctor` reports about the compute backend. */
export interface DoctorReport {
  backend: string;
  native: boolean;
  blasThreads: number | null;
  /** The system BLAS the addon was built with (OpenBLAS's build and core type), when the addon is in use and has one. */
  blas: string | null;
  /** The matrix product the addon runs, e.g. 'own packed AVX-512 (8x32)' or 'OpenBLAS 0.3.21 Haswell'. */
  gemm: string | null;
  kernels: string[];
  note: string | null;
  /** GFLOP/s of a 256x784 . 784x4096 product, plain and with both operands transposed. */
  gflops: { matmul: number; matmulTransposed: number };
  memory: { heapLimitGiB: number; freeGiB: number };
  node: string;
  tfjs: string;
}

/** Median GFLOP/s of `reps` timed runs of an m x k . k x n product. */
function matmulGflops(m: number, k: number, n: number, transposed: boolean, reps: number): number {
  const a = tf.randomUniform(transposed ? [k, m] : [m, k], -1, 1, 'float32', 1);
  const b = tf.randomUniform(transposed ? [n, k] : [k, n], -1, 1, 'float32', 2);
  const once = () => {
    const c = tf.matMul(a, b, transposed, transposed);
    c.dataSync(); // waits for the product (never return typed arrays from tf.tidy: it walks them)
    c.dispose();
  };
  once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  tf.dispose([a, b]);
  times.sort((p, q) => p - q);
  return (2 * m * k * n) / (times[Math.floor(reps / 2)] / 1000) / 1e9;
}

/** Initialises the backend (if needed) and measures it: a few seconds at most. */
export async function doctorReport(opts: { reps?: number } = {}): Promise<DoctorReport> {
  const info = backendInfo() ?? (await initBackend({ quiet: true }));
  const reps = opts.reps ?? 5;
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    backend: info.backend,
    native: info.native,
    blasThreads: info.blasThreads ?? null,
    blas: info.native ? loadNative()?.config() || null : null,
    gemm: info.native ? (loadNative()?.gemm() ?? null) : null,
    kernels: info.kernels,
    note: info.note ?? (info.native ? null : nativeLoadError() || null),
    gflops: {
      matmul: round(matmulGflops(256, 784, 4096, false, reps)),
      matmulTransposed: round(matmulGflops(256, 784, 4096, true, reps)),
    },
    memory: {
      heapLimitGiB: info.backend === 'wasm' ? WASM_HEAP_LIMIT_BYTES / 1024 ** 3 : Number.POSITIVE_INFINITY,
      freeGiB: round(availableBytes() / 1024 ** 3),
    },
    node: process.version,
    tfjs: tf.version.tfjs,
  };
}
