import cliProgress from 'cli-progress';

/** A progress bar with ETA on an interactive terminal; silent in --json mode or when stderr is not a TTY. */
export interface Progress {
  /** A new bar at `startValue` (a resumed task: its ETA counts from there). */
  start(total: number, label: string, startValue?: number): void;
  update(done: number, extra?: string): void;
  stop(): void;
}

const silent: Progress = { start() {}, update() {}, stop() {} };

export function createProgress(opts: { json: boolean }): Progress {
  if (opts.json || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{label} |{bar}| {percentage}% {value}/{total} ETA {eta_formatted} {extra}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    start(total, label, startValue = 0) {
      if (running) bar.stop();
      bar.start(total, startValue, { label, extra: '' });
      running = true;
    },
    update(done, extra = '') {
      if (running) bar.update(done, { extra });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/**
 * Trainer callbacks that show a bar per epoch (restarted at each epoch's first batch) and hand each
 * finished epoch's metrics to `onEpochEnd` (e.g. to print a line).
 */
export function epochProgress<M extends { epoch: number }>(
  progress: Progress,
  batchSize: number,
  onEpochEnd: (metrics: M) => void,
): { onBatch: (done: number, total: number) => void; onEpoch: (metrics: M) => void } {
  let epoch = 0;
  return {
    onBatch: (done, total) => {
      if (done <= batchSize) progress.start(total, `epoch ${epoch + 1}`);
      progress.update(done);
    },
    onEpoch: (metrics) => {
      epoch = metrics.epoch;
      progress.stop();
      onEpochEnd(metrics);
    },
  };
}
