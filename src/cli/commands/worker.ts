import type { Command } from 'commander';
import { startQueueWorker, WORKER_DEFAULTS } from '../../experiments/queue-worker.js';
import { parseNumberOption } from '../output.js';

interface WorkerFlags {
  queue: string;
  concurrency: number;
  cache: string;
  lockMs?: number;
  stalledMs?: number;
  maxStalled?: number;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'run sweep jobs from a BullMQ queue (started by sweep --queue) until stopped; each job in a child process',
    )
    .requiredOption('--queue <url>', 'the queue at redis://HOST:PORT')
    .option(
      '--concurrency <n>',
      'jobs at once (one child process each)',
      parseNumberOption('--concurrency'),
      1,
    )
    .option(
      '--cache <dir>',
      'where rebuilt surrogates, poisons and run checkpoints live (shared: checkpoints move between machines)',
      'poisonlab-cache',
    )
    .option(
      '--lock-ms <ms>',
      `job lock duration (default ${WORKER_DEFAULTS.lockMs})`,
      parseNumberOption('--lock-ms'),
    )
    .option(
      '--stalled-ms <ms>',
      `stalled-job check interval (default ${WORKER_DEFAULTS.stalledMs})`,
      parseNumberOption('--stalled-ms'),
    )
    .option(
      '--max-stalled <n>',
      `times a job may stall before it fails (default ${WORKER_DEFAULTS.maxStalled})`,
      parseNumberOption('--max-stalled'),
    )
    .action(async (f: WorkerFlags) => {
      const log = (line: string) => process.stdout.write(`${line}\n`);
      const worker = await startQueueWorker({
        url: f.queue,
        concurrency: f.concurrency,
        cache: f.cache,
        ...(f.lockMs !== undefined && { lockMs: f.lockMs }),
        ...(f.stalledMs !== undefined && { stalledMs: f.stalledMs }),
        ...(f.maxStalled !== undefined && { maxStalled: f.maxStalled }),
        onEvent: (e) => {
          switch (e.type) {
            case 'active':
              return log(`start ${e.id}`);
            case 'completed': {
              const r = e.result;
              const what =
                r.kind === 'train'
                  ? `test accuracy ${(100 * r.metrics.testAccuracy).toFixed(2)}%`
                  : r.kind === 'theory'
                    ? `gamma ${r.overlay.gamma.toFixed(4)}`
                    : `content ${r.contentHash.slice(0, 12)}`;
              return log(`done ${e.id} ${what} in ${e.seconds.toFixed(1)} s`);
            }
            case 'failed':
              return log(`failed ${e.id}${e.final ? '' : ' (will retry)'}: ${e.message}`);
            case 'stalled':
              return log(`stalled ${e.id} (back in the queue)`);
            case 'warning':
              return process.stderr.write(`poisonlab: warning: ${e.message}\n`);
          }
        },
      });
      log(
        `worker ready on ${f.queue} (concurrency ${f.concurrency}, cache ${f.cache}); Ctrl-C stops after the jobs in progress`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          log('stopping: waiting for the jobs in progress');
          worker.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
