import { performance } from 'node:perf_hooks';
import type { NativeAddon } from '../backend/native.js';

/** One matrix product of a study workload: C[m, n] = op(A) op(B), op(A) m x k, op(B) k x n. */
export interface GemmShape {
  /** Which layer and pass it comes from. */
  name: string;
  ta: boolean;
  tb: boolean;
  m: number;
  n: number;
  k: number;
}

const shape = (name: string, t: string, m: number, n: number, k: number): GemmShape => ({
  name,
  ta: t[0] === 'T',
  tb: t[1] === 'T',
  m,
  n,
  k,
});

/**
 * The products of the bench workloads (src/bench/workloads.ts, the shapes of
 * ../shared/bench/torch_reference.py) at batch 128, as recorded from the addon's sgemm calls of one
 * step each: forward (NN), input gradient (NT) and weight gradient (TN). The two-layer net's are
 * the fused step's two products (two_layer.c); the CNNs' few-channel convolutions run without a
 * product (direct kernels), AlexNet's convolutions as im2col products. mnist_cnn m100000 and
 * twolayer m16384 repeat the shapes of m10000 and m1000 at a larger width.
 */
export const GEMM_SHAPES: GemmShape[] = [
  shape('twolayer m1000 forward', 'NN', 128, 1000, 784),
  shape('twolayer m1000 W update', 'TN', 784, 1000, 128),
  shape('twolayer m16384 forward', 'NN', 128, 16384, 784),
  shape('twolayer m16384 W update', 'TN', 784, 16384, 128),
  shape('mnist_cnn m100 fc1', 'NN', 128, 100, 320),
  shape('mnist_cnn m100 fc1 dx', 'NT', 128, 320, 100),
  shape('mnist_cnn m100 fc1 dW', 'TN', 320, 100, 128),
  shape('mnist_cnn m1000 fc1', 'NN', 128, 1000, 320),
  shape('mnist_cnn m1000 fc2', 'NN', 128, 10, 1000),
  shape('mnist_cnn m1000 fc2 dx', 'NT', 128, 1000, 10),
  shape('mnist_cnn m1000 fc2 dW', 'TN', 1000, 10, 128),
  shape('mnist_cnn m1000 fc1 dx', 'NT', 128, 320, 1000),
  shape('mnist_cnn m1000 fc1 dW', 'TN', 320, 1000, 128),
  shape('mnist_cnn m10000 fc1', 'NN', 128, 10000, 320),
  shape('mnist_cnn m10000 fc2', 'NN', 128, 10, 10000),
  shape('mnist_cnn m10000 fc2 dx', 'NT', 128, 10000, 10),
  shape('mnist_cnn m10000 fc2 dW', 'TN', 10000, 10, 128),
  shape('mnist_cnn m10000 fc1 dx', 'NT', 128, 320, 10000),
  shape('mnist_cnn m10000 fc1 dW', 'TN', 320, 10000, 128),
  shape('cifar_cnn fc1', 'NN', 128, 120, 400),
  shape('cifar_cnn fc1 dx', 'NT', 128, 400, 120),
  shape('cifar_cnn fc1 dW', 'TN', 400, 120, 128),
  shape('cifar_cnn m10000 fc2', 'NN', 128, 10000, 120),
  shape('cifar_cnn m10000 fc2 dx', 'NT', 128, 120, 10000),
  shape('cifar_cnn m10000 fc2 dW', 'TN', 120, 10000, 128),
  shape('alexnet conv1 (im2col)', 'NN', 32768, 64, 27),
  shape('alexnet conv1 dW', 'TN', 27, 64, 32768),
  shape('alexnet conv2 (im2col)', 'NN', 8192, 192, 576),
  shape('alexnet conv2 dx (col)', 'NT', 8192, 576, 192),
  shape('alexnet conv2 dW', 'TN', 576, 192, 8192),
  shape('alexnet conv3 (im2col)', 'NN', 2048, 384, 1728),
  shape('alexnet conv3 dx (col)', 'NT', 2048, 1728, 384),
  shape('alexnet conv3 dW', 'TN', 1728, 384, 2048),
  shape('alexnet conv4 (im2col)', 'NN', 2048, 256, 3456),
  shape('alexnet conv4 dx (as conv)', 'NN', 2048, 384, 2304),
  shape('alexnet conv4 dW', 'TN', 3456, 256, 2048),
  shape('alexnet conv5 (im2col)', 'NN', 2048, 256, 2304),
  shape('alexnet conv5 dW', 'TN', 2304, 256, 2048),
  shape('alexnet fc1', 'NN', 128, 4096, 1024),
  shape('alexnet fc1 dx', 'NT', 128, 1024, 4096),
  shape('alexnet fc1 dW', 'TN', 1024, 4096, 128),
  shape('alexnet fc2', 'NN', 128, 4096, 4096),
  shape('alexnet fc2 dx', 'NT', 128, 4096, 4096),
  shape('alexnet fc2 dW', 'TN', 4096, 4096, 128),
  shape('alexnet fc3', 'NN', 128, 10, 4096),
  shape('alexnet fc3 dx', 'NT', 128, 4096, 10),
  shape('alexnet fc3 dW', 'TN', 4096, 10, 128),
];

/** GFLOP/s of one product kernel on one shape. */
export interface GemmTiming {
  /** From the fastest call (wall clock): on a shared machine, the call least disturbed. */
  best: number;
  /** From the median call (wall clock). */
  median: number;
  /** Per second of this process's CPU time, from the round that used least: time when the process was not
   * running does not count, so it reads the same under load (with 2 threads it measures both threads' work). */
  cpu: number;
}

/** One shape at one thread count, timed with each product kernel. */
export interface GemmRow {
  shape: GemmShape;
  threads: number;
  /** Keyed by the addon's gemm choice ('own-avx512', 'openblas', ...). */
  gflops: Record<string, GemmTiming>;
}

/** Operands of one shape in an ArrayBuffer of their own (the addon takes any buffer and byte offsets). */
function operands(s: GemmShape) {
  const aLen = s.m * s.k;
  const bLen = s.k * s.n;
  const buf = new ArrayBuffer(4 * (aLen + bLen + s.m * s.n));
  const f = new Float32Array(buf);
  for (let i = 0; i < aLen + bLen; i++) f[i] = ((i * 7919) % 2003) / 1001.5 - 1;
  return { buf, a: 0, b: 4 * aLen, c: 4 * (aLen + bLen) };
}

/** Wall seconds of each call of `fn`, from as many calls as fill `seconds` (at least 2), and CPU seconds per call. */
function callSeconds(fn: () => void, seconds: number): { wall: number[]; cpu: number } {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const wall: number[] = [];
  do {
    const t = performance.now();
    fn();
    wall.push((performance.now() - t) / 1000);
  } while (wall.length < 2 || performance.now() - start < seconds * 1000);
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 / wall.length };
}

/**
 * Times every shape with every product kernel in `choices` at each thread count. The kernels take
 * turns within each of `rounds` rounds, so load from other processes hits them alike; each round
 * calls a kernel for `seconds`, and every call is timed: on a shared machine the fastest call is
 * the one least disturbed. Restores the addon's product and thread settings afterwards.
 */
export function gemmTable(
  addon: NativeAddon,
  opts: { shapes: GemmShape[]; choices: string[]; threads: number[]; rounds: number; seconds: number },
  onRow?: (row: GemmRow) => void,
): GemmRow[] {
  const before = { threads: addon.getThreads(), gemm: process.env.POISONLAB_GEMM || 'auto' };
  const rows: GemmRow[] = [];
  try {
    for (const s of opts.shapes) {
      const { buf, a, b, c } = operands(s);
      const call = () =>
        addon.sgemm(buf, +s.ta, +s.tb, s.m, s.n, s.k, a, s.ta ? s.m : s.k, b, s.tb ? s.k : s.n, 0, c, s.n);
      for (const threads of opts.threads) {
        addon.setThreads(threads); // products under the addon's threshold (1e7 multiply-adds) still use one
        const times: Record<string, { wall: number[]; cpu: number }> = {};
        for (const choice of opts.choices) {
          addon.gemm(choice);
          call(); // warm: packing buffers, thread pool
          times[choice] = { wall: [], cpu: Number.POSITIVE_INFINITY };
        }
        for (let r = 0; r < opts.rounds; r++)
          for (const choice of opts.choices) {
            addon.gemm(choice);
            const round = callSeconds(call, opts.seconds);
            times[choice]!.wall.push(...round.wall);
            times[choice]!.cpu = Math.min(times[choice]!.cpu, round.cpu);
          }
        const flop = 2 * s.m * s.n * s.k;
        const gflops: Record<string, GemmTiming> = {};
        for (const choice of opts.choices) {
          const t = times[choice]!.wall.sort((x, y) => x - y);
          gflops[choice] = {
            best: flop / t[0]! / 1e9,
            median: flop / t[Math.floor(t.length / 2)]! / 1e9,
            cpu: flop / times[choice]!.cpu / 1e9,
          };
        }
        const row = { shape: s, threads, gflops };
        rows.push(row);
        onRow?.(row);
      }
    }
  } finally {
    addon.gemm(before.gemm);
    addon.setThreads(before.threads);
  }
  return rows;
}
