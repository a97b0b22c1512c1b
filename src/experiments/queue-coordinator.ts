import { Queue } from 'bullmq';
import { configHash, type ExperimentConfig } from '../config/schema.js';
import { SweepStore, sweepPaths } from '../results/index.js';
import { check } from '../util/errors.js';
import {
  attackNeedsSurrogate,
  type PoisonSpec,
  planPoisons,
  planRuns,
  type RunSpec,
  runRecord,
  type Shard,
  selectShard,
} from './plan.js';
import {
  checkRedis,
  connectionFromUrl,
  JOB_VERSION,
  jobId,
  QUEUE_NAME,
  type QueueJobData,
  type QueueJobResult,
} from './queue.js';
import { type SweepEvent, type SweepSummary, sweepSummary } from './sweep.js';
import type { SweepTask } from './tasks.js';
import { checkRegistryRefs } from './validate.js';

/** Retries of a job that failed with an error (a crashed child, out of memory); bad input fails at once. */
export const JOB_ATTEMPTS = 3;

export interface QueueSweepOptions {
  out: string;
  /** redis://HOST:PORT */
  url: string;
  shard?: Shard;
  force?: boolean;
  /** How often the coordinator looks for finished jobs (ms, default 500). */
  pollMs?: number;
  onEvent?: (e: SweepEvent) => void;
  /** Redis setting warnings and connection trouble. */
  onWarning?: (message: string) => void;
}

type Waiting =
  | { kind: 'surrogate' }
  | { kind: 'theory' }
  | { kind: 'poison'; poison: PoisonSpec }
  | { kind: 'train'; run: RunSpec };

/**
 * The coordinator of a sweep on a BullMQ queue: plan the runs, skip those DIR/runs.sqlite holds, enqueue the
 * rest with idempotent job ids (config hash + run key), and store each result as it arrives (this process is
 * the store's only writer). A surrogate or poison job runs first where regimes need one; its content hash
 * goes with the jobs that use it, so every worker that rebuilds it checks it has the same bytes. Finished
 * train jobs are removed from Redis once stored; a coordinator killed and started again picks up the results
 * finished meanwhile and enqueues only what is missing (an existing job id is not added twice).
 */
export async function runQueueSweep(
  config: ExperimentConfig,
  opts: QueueSweepOptions,
): Promise<SweepSummary> {
  checkRegistryRefs(config);
  const t0 = performance.now();
  const hash = configHash(config);
  const connection = connectionFromUrl(opts.url);
  const warn = (m: string) => opts.onWarning?.(m);
  // Before anything is written: an unreachable Redis is a one-line error.
  const warnings = await checkRedis(opts.url);
  const store = SweepStore.open(sweepPaths(opts.out).db, { create: true });
  const queue = new Queue<QueueJobData, QueueJobResult>(QUEUE_NAME, { connection });
  try {
    store.bindConfig(config, hash, opts.force);
    for (const w of warnings) warn(w);
    const all = selectShard(planRuns(config), opts.shard);
    const finished = store.finishedKeys(hash);
    const todo = all.filter((r) => !finished.has(r.key));
    // Results that an earlier coordinator stored but had no time to remove from Redis (only ours: another
    // coordinator's shard of the same config may share the queue).
    const storedBefore = new Set(
      all.filter((r) => finished.has(r.key)).map((run) => jobId(hash, { kind: 'train', run })),
    );
    if (store.theory(hash) !== undefined) storedBefore.add(jobId(hash, { kind: 'theory' }));
    const poisons = planPoisons(config, todo);
    const surrogateNeeded =
      config.surrogate?.path === undefined && poisons.some((p) => attackNeedsSurrogate(p));
    opts.onEvent?.({
      type: 'plan',
      total: all.length,
      skipped: all.length - todo.length,
      todo: todo.length,
      poisons: poisons.length,
      surrogate: surrogateNeeded,
      workers: 0,
    });
    const waiting = new Map<string, Waiting>();
    const failures: { task: string; message: string }[] = [];
    const workers = new Set<string>();
    let surrogateHash: string | undefined;
    const poisonHash = new Map<string, string>();
    let done = 0;

    // Jobs that failed for good in an earlier coordinator's time are tried again: remove, then add anew.
    const failedBefore = new Set<string>();
    for (const j of await queue.getJobs(['failed'], 0, -1))
      if (j.id?.startsWith(hash)) failedBefore.add(j.id);
    const enqueue = async (tasks: SweepTask[], extra: Partial<QueueJobData> = {}) => {
      const jobs = [];
      for (const task of tasks) {
        const id = jobId(hash, task);
        if (failedBefore.delete(id)) await queue.remove(id);
        waiting.set(id, task.kind === 'train' ? { kind: 'train', run: task.run } : (task as Waiting));
        jobs.push({
          name: task.kind,
          data: { version: JOB_VERSION, config, hash, task, ...extra },
          opts: {
            jobId: id,
            attempts: JOB_ATTEMPTS,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: false,
            removeOnFail: false,
          },
        });
      }
      for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
    };
    const runsOf = (poisonKey: string) => todo.filter((r) => r.poisonKey === poisonKey);
    const trainTasks = (runs: RunSpec[]): SweepTask[] => runs.map((run) => ({ kind: 'train', run }));
    const poisonTasks = (ps: PoisonSpec[]): SweepTask[] => ps.map((poison) => ({ kind: 'poison', poison }));
    const failRuns = (runs: RunSpec[], message: string) => {
      for (const r of runs) failures.push({ task: r.key, message });
    };

    // What can start now: the theory overlay, the surrogate, the poisons that need none, the clean runs.
    if (config.theory !== undefined && store.theory(hash) === undefined) await enqueue([{ kind: 'theory' }]);
    if (surrogateNeeded) await enqueue([{ kind: 'surrogate' }]);
    await enqueue(poisonTasks(poisons.filter((p) => !attackNeedsSurrogate(p) || !surrogateNeeded)));
    await enqueue(trainTasks(todo.filter((r) => !r.poisonKey)));

    const onCompleted = async (
      id: string,
      w: Waiting,
      r: QueueJobResult,
      processedOn?: number,
      finishedOn?: number,
    ) => {
      workers.add(r.worker);
      if (w.kind === 'surrogate' && r.kind === 'surrogate') {
        surrogateHash = r.contentHash;
        await enqueue(poisonTasks(poisons.filter((p) => attackNeedsSurrogate(p))), { surrogateHash });
      } else if (w.kind === 'theory' && r.kind === 'theory') {
        store.insertTheory(r.overlay);
        await queue.remove(id);
      } else if (w.kind === 'poison' && r.kind === 'poison') {
        poisonHash.set(w.poison.key, r.contentHash);
        store.insertPoison(hash, {
          poisonKey: w.poison.key,
          path: `queue:${r.worker}`,
          // The worker that built it sends its report (budget spent, ...); a cached one has only its hash.
          report: { ...(r.report as object | undefined), contentHash: r.contentHash },
          finishedAt: new Date(finishedOn ?? Date.now()).toISOString(),
        });
        await enqueue(trainTasks(runsOf(w.poison.key)), {
          ...(surrogateHash !== undefined && { surrogateHash }),
          poisonHash: r.contentHash,
        });
      } else if (w.kind === 'train' && r.kind === 'train') {
        const run = w.run;
        for (const e of r.epochs ?? []) store.insertEpoch(hash, run.key, e);
        store.insertRun(
          runRecord(hash, run, r.metrics, {
            startedAt: new Date(processedOn ?? Date.now()).toISOString(),
            finishedAt: new Date(finishedOn ?? Date.now()).toISOString(),
            host: r.worker,
          }),
        );
        done++;
        // Stored: Redis no longer needs it (a restarted coordinator finds the run in the store).
        await queue.remove(id);
        opts.onEvent?.({
          type: 'run-done',
          key: run.key,
          testAccuracy: r.metrics.testAccuracy,
          done,
          todo: todo.length,
        });
      } else {
        check(false, `queue job ${id}: returned a ${r.kind} result, expected ${w.kind}`);
      }
      waiting.delete(id);
    };
    const onFailed = (id: string, w: Waiting, reason: string) => {
      waiting.delete(id);
      const message = reason.split('\n')[0]!;
      opts.onEvent?.({ type: 'task-end', name: id, slot: -1, ok: false, message });
      if (w.kind === 'train') failRuns([w.run], `${w.run.key}: ${message}`);
      else if (w.kind === 'theory') failures.push({ task: 'theory', message: `theory: ${message}` });
      else if (w.kind === 'poison') failRuns(runsOf(w.poison.key), `poison ${w.poison.key}: ${message}`);
      else
        for (const p of poisons.filter((q) => attackNeedsSurrogate(q)))
          failRuns(runsOf(p.key), `surrogate: ${message}`);
    };

    const pollMs = opts.pollMs ?? 500;
    let lastTrouble = '';
    while (waiting.size > 0) {
      try {
        let progressed = false;
        for (const j of await queue.getJobs(['completed'], 0, 999, true)) {
          if (!j.id?.startsWith(hash)) continue;
          const w = waiting.get(j.id);
          if (w) {
            await onCompleted(j.id, w, j.returnvalue as QueueJobResult, j.processedOn, j.finishedOn);
            progressed = true;
          } else if (storedBefore.has(j.id)) await queue.remove(j.id); // stored by an earlier coordinator
        }
        for (const j of await queue.getJobs(['failed'], 0, -1)) {
          const w = j.id ? waiting.get(j.id) : undefined;
          if (w && j.id) {
            onFailed(j.id, w, j.failedReason ?? 'failed');
            progressed = true;
          }
        }
        lastTrouble = '';
        if (!progressed) await new Promise((r) => setTimeout(r, pollMs));
      } catch (e) {
        // Redis away (restart, network): wait and look again; nothing is lost while it is persistent.
        const m = (e as Error).message.split('\n')[0]!;
        if (m !== lastTrouble) warn(`redis: ${m}; retrying`);
        lastTrouble = m;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
    return sweepSummary(config, hash, store, {
      ...opts,
      workers: workers.size,
      runs: all.length,
      todo: todo.length,
      done,
      failures,
      t0,
    });
  } finally {
    await queue.close();
    store.close();
  }
}
