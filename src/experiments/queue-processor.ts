/**
 * The sandboxed processor of `poisonlab worker`: BullMQ runs it in a child process (so a busy training loop never
 * keeps the worker from renewing its job locks). It rebuilds the surrogate and poisons a job needs in the
 * worker's cache from the config and seed, checks their content hashes against the job's, and runs the task
 * with the same code as the local pool (./job).
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { type SandboxedJob, UnrecoverableError } from 'bullmq';
import { resolveSurrogatePath } from '../attacks/pretrained.js';
import type { EpochRecord } from '../results/index.js';
import { sweepPaths } from '../results/index.js';
import { PoisonlabError } from '../util/errors.js';
import { artifactHash } from './artifacts.js';
import { runTask } from './job.js';
import { attackNeedsSurrogate, type PoisonSpec, planPoisons } from './plan.js';
import { JOB_VERSION, type QueueJobData, type QueueJobResult } from './queue.js';
import type { TaskContext, TaskProgress } from './tasks.js';

// A child whose worker died (kill -9) must not train on for nobody: its run is re-delivered elsewhere.
process.on('disconnect', () => process.exit(1));

/** The worker's name in results: host and the worker process id. */
const WORKER = `${hostname()}:${process.ppid}`;

/** A wrong artifact: retrying on this machine gives the same bytes, so the job fails at once. */
function unrecoverable(message: string): Error {
  return new UnrecoverableError(message);
}

async function ensureSurrogate(ctx: TaskContext, expected: string | undefined, progress: TaskProgress) {
  const given = ctx.config.surrogate?.path;
  const path = given !== undefined ? resolveSurrogatePath(given) : sweepPaths(ctx.out).surrogate;
  if (given === undefined && !existsSync(path)) await runTask({ kind: 'surrogate' }, ctx, progress);
  if (!existsSync(path)) throw unrecoverable(`surrogate.path: ${path} does not exist on worker ${WORKER}`);
  const got = artifactHash(path);
  if (expected !== undefined && got !== expected)
    throw unrecoverable(
      `surrogate of config ${ctx.config.name}: ${path} has content hash ${got.slice(0, 12)}, the job expects ` +
        `${expected.slice(0, 12)}: this machine computes other numbers (check the poisonlab version and BLAS); delete the file to rebuild it`,
    );
  return got;
}

async function ensurePoison(
  ctx: TaskContext,
  p: PoisonSpec,
  data: QueueJobData,
  progress: TaskProgress,
): Promise<{ hash: string; report?: unknown }> {
  const path = sweepPaths(ctx.out).poison(p.key);
  let report: unknown;
  if (!existsSync(path)) {
    if (attackNeedsSurrogate(p)) await ensureSurrogate(ctx, data.surrogateHash, progress);
    const r = await runTask({ kind: 'poison', poison: p }, ctx, progress);
    if (r.kind === 'poison') report = r.report;
  }
  const got = artifactHash(path);
  const expected = data.task.kind === 'train' ? data.poisonHash : undefined;
  if (expected !== undefined && got !== expected)
    throw unrecoverable(
      `poison ${p.key} of config ${ctx.config.name}: ${path} has content hash ${got.slice(0, 12)}, the job expects ` +
        `${expected.slice(0, 12)}: this machine computes other numbers (check the poisonlab version and BLAS); delete the file to rebuild it`,
    );
  return report === undefined ? { hash: got } : { hash: got, report };
}

export default async function processJob(
  job: SandboxedJob<QueueJobData, QueueJobResult>,
): Promise<QueueJobResult> {
  const d = job.data;
  if (d?.version !== JOB_VERSION)
    throw unrecoverable(
      `job ${job.id}: payload version ${d?.version}, expected ${JOB_VERSION} (coordinator and worker run different poisonlab versions)`,
    );
  const cache = resolve(process.env['POISONLAB_QUEUE_CACHE'] ?? 'poisonlab-cache');
  // One folder per config: its surrogate, poisons and run checkpoints.
  const ctx: TaskContext = { config: d.config, hash: d.hash, out: join(cache, d.hash.slice(0, 16)) };
  let last = 0;
  const progress: TaskProgress = (done, total) => {
    const now = Date.now();
    if (now - last < 1000 && done < total) return;
    last = now;
    job.updateProgress({ done, total }).catch(() => {});
  };
  try {
    const task = d.task;
    switch (task.kind) {
      case 'surrogate':
        return {
          kind: 'surrogate',
          contentHash: await ensureSurrogate(ctx, undefined, progress),
          worker: WORKER,
        };
      case 'theory': {
        const r = await runTask(task, ctx, progress);
        if (r.kind !== 'theory') throw new PoisonlabError(`theory: the task returned a ${r.kind} result`);
        return { kind: 'theory', overlay: r.overlay, worker: WORKER };
      }
      case 'poison': {
        const { hash, report } = await ensurePoison(ctx, task.poison, d, progress);
        return { kind: 'poison', key: task.poison.key, contentHash: hash, report, worker: WORKER };
      }
      case 'train': {
        const poison = planPoisons(d.config, [task.run])[0];
        if (poison) await ensurePoison(ctx, poison, d, progress);
        // The per-epoch history travels with the result; the coordinator stores it with the run.
        const epochs: EpochRecord[] = [];
        const r = await runTask(task, ctx, progress, (e) => epochs.push(e));
        if (r.kind !== 'train')
          throw new PoisonlabError(`${task.run.key}: the task returned a ${r.kind} result`);
        return { kind: 'train', key: task.run.key, metrics: r.metrics, epochs, worker: WORKER };
      }
    }
  } catch (e) {
    // A bad input fails the same way on every retry: no retries. One line, as everywhere in poisonlab.
    if (e instanceof PoisonlabError) throw unrecoverable(e.message.split('\n')[0]!);
    if (e instanceof Error && !(e instanceof UnrecoverableError)) e.message = e.message.split('\n')[0]!;
    throw e;
  }
}
