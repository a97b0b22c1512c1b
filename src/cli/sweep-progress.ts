import cliProgress from 'cli-progress';
import type { SweepEvent } from '../experiments/sweep.js';

/**
 * Terminal view of a running sweep: one overall bar (runs, with ETA) and one bar per worker showing its current
 * task. Silent (returns a no-op) in --json mode or when stderr is not a terminal.
 */
export function sweepProgressView(opts: { json: boolean }): {
  onEvent: (e: SweepEvent) => void;
  stop: () => void;
} {
  if (opts.json || !process.stderr.isTTY) return { onEvent: () => {}, stop: () => {} };
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: '{label} |{bar}| {percentage}% {value}/{total} ETA {eta_formatted} {info}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let overall: cliProgress.SingleBar | undefined;
  const slots = new Map<number, cliProgress.SingleBar>();
  const slotBar = (slot: number) => {
    let b = slots.get(slot);
    if (!b) {
      b = multi.create(1, 0, { label: `worker ${slot}`.padEnd(10), info: '' });
      slots.set(slot, b);
    }
    return b;
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'plan':
          overall = multi.create(Math.max(1, e.todo), 0, {
            label: 'runs'.padEnd(10),
            info: `(${e.skipped} already done${e.poisons ? `, ${e.poisons} poisons to make` : ''})`,
          });
          multi.update();
          break;
        case 'task-start':
          if (e.slot >= 0)
            slotBar(e.slot).start(1, 0, { label: `worker ${e.slot}`.padEnd(10), info: e.name });
          break;
        case 'task-progress':
          if (e.slot >= 0) {
            const b = slotBar(e.slot);
            b.setTotal(e.total);
            b.update(e.done, { info: e.name });
          }
          break;
        case 'run-done':
          overall?.update(e.done, { info: `last ${e.key}: ${(100 * e.testAccuracy).toFixed(2)}%` });
          break;
        case 'task-end':
          if (!e.ok) multi.log(`failed: ${e.message ?? e.name}\n`);
          break;
      }
    },
    stop() {
      multi.stop();
    },
  };
}
