import * as tf from '@tensorflow/tfjs';
import type { Workload } from './workloads.js';

/** Time spent in one kernel (name and input shapes) per step. */
export interface KernelTime {
  kernel: string;
  inputShapes: number[][];
  msPerStep: number;
  callsPerStep: number;
}

/** Where a workload's step time goes. */
export interface WorkloadProfile {
  name: string;
  /** Wall-clock ms per step while profiling (the profiler adds some overhead). */
  wallMsPerStep: number;
  /** CPU ms per step, all threads of the process (less sensitive to other load than wall time). */
  cpuMsPerStep: number;
  /** Sum of the kernels' ms per step; the rest is JS (tape, layers, dispatch). */
  kernelMsPerStep: number;
  kernelsPerStep: number;
  /** Kernels by time, largest first. */
  kernels: KernelTime[];
}

/** Runs `steps` profiled steps of `w` (after `warmup` plain ones) and aggregates tf.profile's kernel times. */
export async function profileWorkload(w: Workload, steps = 5, warmup = 2): Promise<WorkloadProfile> {
  const { step, dispose } = w.setup();
  try {
    for (let i = 0; i < warmup; i++) step();
    const agg = new Map<string, KernelTime>();
    let wall = 0;
    const cpu0 = process.cpuUsage();
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      const info = await tf.profile(() => {
        step();
      });
      wall += performance.now() - t0;
      for (const k of info.kernels) {
        const key = `${k.name} ${JSON.stringify(k.inputShapes)}`;
        const e = agg.get(key) ?? {
          kernel: k.name,
          inputShapes: k.inputShapes,
          msPerStep: 0,
          callsPerStep: 0,
        };
        e.msPerStep += (k.kernelTimeMs as number) / steps;
        e.callsPerStep += 1 / steps;
        agg.set(key, e);
      }
    }
    const cpu = process.cpuUsage(cpu0);
    const kernels = [...agg.values()].sort((a, b) => b.msPerStep - a.msPerStep);
    return {
      name: w.name,
      wallMsPerStep: wall / steps,
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
      kernelMsPerStep: kernels.reduce((a, k) => a + k.msPerStep, 0),
      kernelsPerStep: kernels.reduce((a, k) => a + k.callsPerStep, 0),
      kernels,
    };
  } finally {
    dispose();
  }
}
