import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { checkNumber } from '../util/errors.js';
import {
  checkRedis,
  connectionFromUrl,
  QUEUE_NAME,
  type QueueJobData,
  type QueueJobResult,
} from './queue.js';

/** This module's extension: '.ts' under tsx, '.js' when compiled. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * Failure settings. A job's lock lasts LOCK_MS and is renewed every LOCK_MS / 2 by the worker's own event loop
 * (the training runs in a sandboxed child, so renewals are never starved). A worker that dies stops renewing:
 * the next stalled check after the lock expires (every STALLED_MS, by any live worker) puts the job back in
 * the wait list, where another worker takes it and continues from the run's last checkpoint. A job that
 * stalls more than MAX_STALLED times fails (a run that kills every machine it lands on).
 */
export const WORKER_DEFAULTS = { lockMs: 60_000, stalledMs: 30_000, maxStalled: 5 } as const;

export type WorkerEvent =
  | { type: 'active'; id: string; name: string }
  | { type: 'completed'; id: string; result: QueueJobResult; seconds: number }
  | { type: 'failed'; id: string; message: string; final: boolean }
  | { type: 'stalled'; id: string }
  | { type: 'warning'; message: string };

export interface QueueWorkerOptions {
  url: string;
  /** Jobs at once (each in its own child process). */
  concurrency?: number;
  /** Where rebuilt surrogates, poisons and run checkpoints are kept (a shared folder lets checkpoints move). */
  cache: string;
  lockMs?: number;
  stalledMs?: number;
  maxStalled?: number;
  onEvent?: (e: WorkerEvent) => void;
}

/**
 * Start a BullMQ worker on the poisonlab queue that runs every job in a sandboxed child process. The children
 * use one BLAS thread each (as the local pool's workers do), so every machine computes the same numbers.
 * Resolves once connected; `close()` waits for the jobs in progress.
 */
export async function startQueueWorker(opts: QueueWorkerOptions): Promise<{ close: () => Promise<void> }> {
  const concurrency = checkNumber(opts.concurrency ?? 1, '--concurrency', { integer: true, min: 1 });
  const lockMs = checkNumber(opts.lockMs ?? WORKER_DEFAULTS.lockMs, '--lock-ms', { integer: true, min: 100 });
  const stalledMs = checkNumber(opts.stalledMs ?? WORKER_DEFAULTS.stalledMs, '--stalled-ms', {
    integer: true,
    min: 100,
  });
  const maxStalled = checkNumber(opts.maxStalled ?? WORKER_DEFAULTS.maxStalled, '--max-stalled', {
    integer: true,
    min: 1,
  });
  const warnings = await checkRedis(opts.url);
  const cache = resolve(opts.cache);
  mkdirSync(cache, { recursive: true });
  // Inherited by the sandboxed children, which BullMQ forks after this point.
  process.env['POISONLAB_QUEUE_CACHE'] = cache;
  process.env['OPENBLAS_NUM_THREADS'] = '1';
  process.env['POISONLAB_THREADS'] = '1';
  const emit = (e: WorkerEvent) => opts.onEvent?.(e);
  const processor = fileURLToPath(new URL(`./queue-processor${EXT}`, import.meta.url));
  const worker = new Worker<QueueJobData, QueueJobResult>(QUEUE_NAME, processor, {
    connection: connectionFromUrl(opts.url),
    concurrency,
    lockDuration: lockMs,
    stalledInterval: stalledMs,
    maxStalledCount: maxStalled,
    useWorkerThreads: false,
  });
  worker.on('active', (job) => emit({ type: 'active', id: job.id!, name: job.name }));
  worker.on('completed', (job, result) =>
    emit({
      type: 'completed',
      id: job.id!,
      result,
      seconds: ((job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now())) / 1000,
    }),
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    emit({
      type: 'failed',
      id: job.id!,
      message: err.message.split('\n')[0]!,
      final: err.name === 'UnrecoverableError' || job.attemptsMade >= attempts,
    });
  });
  worker.on('stalled', (id) => emit({ type: 'stalled', id }));
  let lastError = '';
  worker.on('error', (e) => {
    const m = e.message.split('\n')[0]!;
    if (m !== lastError) emit({ type: 'warning', message: `redis: ${m}` });
    lastError = m;
  });
  for (const w of warnings) emit({ type: 'warning', message: w });
  await worker.waitUntilReady();
  return { close: () => worker.close() };
}
