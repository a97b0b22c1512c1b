import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolveSurrogatePath } from '../attacks/pretrained.js';
import { configHash, type ExperimentConfig } from '../config/schema.js';
import { describeDataSource } from '../data/load.js';
import {
  aggregate,
  type CellStats,
  HEARTBEAT_MS,
  hostName,
  SweepStore,
  sweepPaths,
} from '../results/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { check, PoisonlabError } from '../util/errors.js';
import {
  attackNeedsSurrogate,
  needsSurrogate,
  planPoisons,
  planRuns,
  type RunSpec,
  runRecord,
  type Shard,
  selectShard,
} from './plan.js';
import { WorkerPool } from './pool.js';
import { type SweepTask, type TaskContext, taskName } from './tasks.js';
import { checkRegistryRefs } from './validate.js';

/** At most one stored progress update of a task (poison, surrogate) this often. */
const TASK_PROGRESS_MS = 2000;

/** What the sweep reports while it runs (for progress bars). */
export type SweepEvent =
  | {
      type: 'plan';
      total: number;
      skipped: number;
      todo: number;
      poisons: number;
      surrogate: boolean;
      workers: number;
    }
  | { type: 'task-start'; name: string; slot: number }
  | { type: 'task-progress'; name: string; slot: number; done: number; total: number }
  | { type: 'task-end'; name: string; slot: number; ok: boolean; message?: string }
  | { type: 'run-done'; key: string; testAccuracy: number; done: number; todo: number };

export interface SweepOptions {
  /** The sweep folder (created when missing). */
  out: string;
  /** Worker processes (default: the number of cores). */
  workers?: number;
  /** Run only this shard of the run list. */
  shard?: Shard;
  /** Replace a different config stored in the folder instead of refusing. */
  force?: boolean;
  /** Path of the task module the workers run (default: the real ./job; tests inject fakes). */
  taskModule?: string;
  onEvent?: (e: SweepEvent) => void;
}

/** What a sweep did, and the results so far of the whole config (all shards). */
export interface SweepSummary {
  out: string;
  name: string;
  configHash: string;
  shard: string | null;
  workers: number;
  /** Runs of this shard. */
  runs: number;
  /** Already finished before this call. */
  skipped: number;
  /** Finished by this call. */
  done: number;
  failed: number;
  failures: { task: string; message: string }[];
  seconds: number;
  /** Clean test accuracy per (regime, width): every stored run of this config. */
  cells: CellStats[];
}

/**
 * Run (or continue) a width sweep: plan every (regime, width, repetition, fold) run, skip those the folder's
 * store already holds, train the surrogate once and each (regime, repetition) poison once if missing, then
 * train the remaining runs in a pool of worker processes. Only this process writes to the store, one finished
 * run per transaction, so a killed sweep continues where it stopped when run again.
 */
export async function runSweep(config: ExperimentConfig, opts: SweepOptions): Promise<SweepSummary> {
  checkRegistryRefs(config);
  const t0 = performance.now();
  const hash = configHash(config);
  const paths = sweepPaths(opts.out);
  const store = SweepStore.open(paths.db, { create: true });
  try {
    store.bindConfig(config, hash, opts.force);
    // Reports name the copy of the data this sweep read (the JPEG copy of CIFAR-10 is not the official one).
    writeFileAtomic(
      paths.dataSource,
      `${JSON.stringify({ dataset: config.dataset, source: describeDataSource(config.dataset) }, null, 2)}\n`,
    );
    const all = selectShard(planRuns(config), opts.shard);
    const finished = store.finishedKeys(hash);
    const todo = all.filter((r) => !finished.has(r.key));
    const ctx: TaskContext = { config, hash, out: opts.out };
    const poisons = planPoisons(config, todo).filter((p) => !existsSync(paths.poison(p.key)));
    const surrogatePath = config.surrogate?.path;
    const surrogateNeeded =
      needsSurrogate(poisons) && surrogatePath === undefined && !existsSync(paths.surrogate);
    if (surrogatePath !== undefined && needsSurrogate(poisons)) {
      const file = resolveSurrogatePath(surrogatePath);
      check(existsSync(file), `surrogate.path: ${file} does not exist`);
    }
    // The theory overlay (configs with `theory`) is a task of its own, computed once per sweep folder.
    const theoryNeeded = config.theory !== undefined && store.theory(hash) === undefined;
    const workers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), Math.max(1, todo.length)));
    opts.onEvent?.({
      type: 'plan',
      total: all.length,
      skipped: all.length - todo.length,
      todo: todo.length,
      poisons: poisons.length,
      surrogate: surrogateNeeded,
      workers,
    });
    const failures: { task: string; message: string }[] = [];
    let done = 0;
    // The live view (`poisonlab serve`) reads this session's heartbeat, its runs in flight and their epochs.
    const session = todo.length > 0 ? store.startSession(hash, workers, todo.length) : -1;
    const heartbeat =
      session >= 0
        ? setInterval(() => store.db.open && store.touchSession(session), HEARTBEAT_MS).unref()
        : undefined;
    if (todo.length > 0 || theoryNeeded) {
      const pool = new WorkerPool({
        size: workers,
        ...(opts.taskModule !== undefined && { taskModule: opts.taskModule }),
        // Several workers on few cores: one BLAS thread each, so they do not oversubscribe the cores.
        ...(workers > 1 && { env: { OPENBLAS_NUM_THREADS: '1', POISONLAB_THREADS: '1' } }),
      });
      const exec = (task: SweepTask) => {
        const name = taskName(task);
        let slot = -1;
        // The dashboard follows the long tasks (an attack on 60,000 images runs for hours): at most one write
        // every TASK_PROGRESS_MS, and the row goes when the task ends.
        let lastWrite = 0;
        const end = () => store.db.open && store.endTask(hash, name);
        return pool
          .run(task, ctx, {
            onStart: (s) => {
              slot = s;
              opts.onEvent?.({ type: 'task-start', name, slot: s });
            },
            onProgress: (s, d, t) => {
              opts.onEvent?.({ type: 'task-progress', name, slot: s, done: d, total: t });
              const now = Date.now();
              if (now - lastWrite >= TASK_PROGRESS_MS && store.db.open) {
                lastWrite = now;
                store.updateTask(hash, name, session >= 0 ? session : null, d, t);
              }
            },
          })
          .then(
            (r) => {
              end();
              opts.onEvent?.({ type: 'task-end', name, slot, ok: true });
              return r;
            },
            (e: Error) => {
              end();
              opts.onEvent?.({ type: 'task-end', name, slot, ok: false, message: e.message });
              throw e;
            },
          );
      };
      try {
        const theory = theoryNeeded
          ? exec({ kind: 'theory' }).then(
              (r) => {
                if (r.kind === 'theory') store.insertTheory(r.overlay);
              },
              (e: Error) => {
                failures.push({ task: 'theory', message: e.message });
              },
            )
          : Promise.resolve();
        const surrogate = surrogateNeeded ? exec({ kind: 'surrogate' }) : Promise.resolve(undefined);
        surrogate.catch(() => {}); // its failure reaches the runs through their poisons
        // Each poison waits for the surrogate (A and B need it), then is generated once.
        const poisonJobs = new Map<string, Promise<unknown>>();
        for (const p of poisons) {
          const needs = attackNeedsSurrogate(p);
          const job = (needs ? surrogate : Promise.resolve()).then(() => exec({ kind: 'poison', poison: p }));
          poisonJobs.set(
            p.key,
            job.then((r) => {
              if (r.kind === 'poison')
                store.insertPoison(hash, {
                  poisonKey: p.key,
                  path: r.path,
                  report: r.report,
                  finishedAt: new Date().toISOString(),
                });
            }),
          );
        }
        const trainOne = async (run: RunSpec) => {
          if (run.poisonKey) await poisonJobs.get(run.poisonKey);
          let startedAt = '';
          let slot = -1;
          const result = await pool.run({ kind: 'train', run }, ctx, {
            onStart: (s) => {
              slot = s;
              startedAt = new Date().toISOString();
              store.markRunning(hash, run.key, session);
              opts.onEvent?.({ type: 'task-start', name: run.key, slot: s });
            },
            onProgress: (s, d, t) =>
              opts.onEvent?.({ type: 'task-progress', name: run.key, slot: s, done: d, total: t }),
            onEpoch: (e) => store.insertEpoch(hash, run.key, e),
          });
          check(result.kind === 'train', `${run.key}: the worker returned a ${result.kind} result`);
          const m = result.metrics;
          store.insertRun(
            runRecord(hash, run, m, {
              startedAt,
              finishedAt: new Date().toISOString(),
              host: hostName(),
            }),
          );
          store.clearRunStatus(hash, run.key);
          done++;
          opts.onEvent?.({ type: 'task-end', name: run.key, slot, ok: true });
          opts.onEvent?.({
            type: 'run-done',
            key: run.key,
            testAccuracy: m.testAccuracy,
            done,
            todo: todo.length,
          });
        };
        const settled = await Promise.allSettled(todo.map(trainOne));
        await theory;
        settled.forEach((s, i) => {
          if (s.status === 'rejected') {
            const message = s.reason instanceof Error ? s.reason.message : String(s.reason);
            failures.push({ task: todo[i]!.key, message });
            store.markFailed(hash, todo[i]!.key, message);
            opts.onEvent?.({ type: 'task-end', name: todo[i]!.key, slot: -1, ok: false, message });
          }
        });
      } finally {
        pool.close();
      }
    }
    clearInterval(heartbeat);
    if (session >= 0) store.touchSession(session, true);
    return sweepSummary(config, hash, store, {
      ...opts,
      workers,
      runs: all.length,
      todo: todo.length,
      done,
      failures,
      t0,
    });
  } finally {
    store.close();
  }
}

/** What a finished sweep call reports (the local pool and the queue coordinator alike). */
export function sweepSummary(
  config: ExperimentConfig,
  hash: string,
  store: SweepStore,
  s: {
    out: string;
    shard?: Shard | undefined;
    workers: number;
    runs: number;
    todo: number;
    done: number;
    failures: { task: string; message: string }[];
    t0: number;
  },
): SweepSummary {
  return {
    out: s.out,
    name: config.name,
    configHash: hash,
    shard: s.shard ? `${s.shard.index}/${s.shard.count}` : null,
    workers: s.workers,
    runs: s.runs,
    skipped: s.runs - s.todo,
    done: s.done,
    failed: s.failures.length,
    failures: s.failures,
    seconds: (performance.now() - s.t0) / 1000,
    cells: aggregate(store.runs(hash)),
  };
}

/** Throw one line summarising the failures of a sweep (its runs, or its theory overlay), if any. */
export function checkSweepSucceeded(s: SweepSummary): void {
  if (s.failed === 0) return;
  const runs = s.failures.filter((f) => f.task !== 'theory').length;
  const first = s.failures[0]!;
  const what = runs > 0 ? `${runs} of ${s.runs - s.skipped} runs failed` : 'the theory overlay failed';
  throw new PoisonlabError(
    `sweep: ${what} (first: ${first.message}); finished runs are kept, re-run to retry`,
  );
}
