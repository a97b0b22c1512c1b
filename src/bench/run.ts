import { performance } from 'node:perf_hooks';
import type { Workload } from './workloads.js';

export interface BenchRow {
  name: string;
  samplesPerSecond: number;
  /** Median seconds per step. */
  secondsPerStep: number;
  steps: number;
}

/**
 * Time a workload: at least `warmup` untimed steps and `warmupSeconds` of them (the JIT, the heap's
 * growth and the BLAS threads settle over the first steps), then `steps` timed ones (stopping early
 * once `maxSeconds` have passed, after at least 3); reports the median step time.
 */
export function runWorkload(
  w: Workload,
  opts: { warmup: number; warmupSeconds?: number; steps: number; maxSeconds: number },
): BenchRow {
  const { step, dispose } = w.setup();
  try {
    const warmStart = performance.now();
    for (
      let i = 0;
      i < opts.warmup || (performance.now() - warmStart) / 1000 < (opts.warmupSeconds ?? 0);
      i++
    )
      step();
    const times: number[] = [];
    const start = performance.now();
    while (times.length < opts.steps) {
      const t = performance.now();
      step();
      times.push((performance.now() - t) / 1000);
      if (times.length >= 3 && (performance.now() - start) / 1000 > opts.maxSeconds) break;
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    return { name: w.name, samplesPerSecond: w.batch / median, secondsPerStep: median, steps: times.length };
  } finally {
    dispose();
  }
}
