import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
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
import { type ArtifactAction, buildOnce } from './artifact-lock.js';
import {
  attackNeedsSurrogate,
  needsSurrogate,
  planPoisons,
  planRuns,
  type RunSpec,
  runRecord,
  type Shard,
  selectRuns,
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
  | {
      type: 'run-done';
      key: string;
      testAccuracy: number;
      done: number;
      todo: number;
      /** The epoch it resumed after, from a checkpoint of an earlier, stopped or killed, sweep. */
      resumedAfter?: number;
    }
  /** A surrogate or poison in the shared --cache: built here, reused, or waited for (another task builds it). */
  | { type: 'artifact'; name: string; action: ArtifactAction; contentHash?: string }
  | { type: 'warning'; message: string };

export interface SweepOptions {
  /** The sweep folder (created when missing). */
  out: string;
  /** Worker processes (default: the number of cores). */
  workers?: number;
  /** Run only this shard of the run list. */
  shard?: Shard;
  /** Run only the runs whose keys match these comma-separated globs (see selectRuns). */
  runs?: string;
  /** Replace a different config stored in the folder instead of refusing. */
  force?: boolean;
  /**
   * A cache folder shared by several sweeps (the tasks of a Slurm array): the surrogate, the poisons and the run
   * checkpoints live in `<cache>/<config hash>/`, each artifact built by exactly one of them (./artifact-lock.ts).
   * Without it they live in the sweep folder.
   */
  cache?: string;
  /**
   * Stop early (Slurm's --signal before the time limit): no new task starts, the workers are stopped (each run in
   * flight keeps its last per-epoch checkpoint) and the summary says `stopped`. Nothing counts as failed.
   */
  signal?: AbortSignal;
  /** How long a stop waits for the training runs in flight to reach the end of an epoch and checkpoint. */
  stopGraceMs?: number;
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
  /** Stopped early by SweepOptions.signal: run again to continue. */
  stopped?: boolean;
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
    const all = selectShard(selectRuns(planRuns(config), opts.runs), opts.shard);
    const finished = store.finishedKeys(hash);
    const todo = all.filter((r) => !finished.has(r.key));
    const cached = opts.cache !== undefined;
    // Artifacts and checkpoints: the sweep folder, or the config's folder in the shared cache.
    const ctx: TaskContext = {
      config,
      hash,
      out: cached ? join(opts.cache!, hash.slice(0, 16)) : opts.out,
    };
    const art = sweepPaths(ctx.out);
    // In a shared cache every needed artifact goes through its lock (a present one is only checked).
    const poisons = planPoisons(config, todo).filter((p) => cached || !existsSync(art.poison(p.key)));
    const surrogatePath = config.surrogate?.path;
    const surrogateNeeded =
      needsSurrogate(poisons) && surrogatePath === undefined && (cached || !existsSync(art.surrogate));
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
    let stopped = false;
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
      let onStop = () => {};
      const stoppedNow = new Promise<void>((resolve) => {
        onStop = () => {
          stopped = true;
          void pool.stop(opts.stopGraceMs ?? STOP_GRACE_MS).then(resolve);
        };
      });
      if (opts.signal?.aborted) onStop();
      else opts.signal?.addEventListener('abort', () => onStop(), { once: true });
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
              // Refused by the pool that the stop closed: not a failure, the task runs when the sweep is resumed.
              if (!stopped) opts.onEvent?.({ type: 'task-end', name, slot, ok: false, message: e.message });
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
        const once = (path: string, name: string, build: () => Promise<unknown>) =>
          buildOnce(path, async () => void (await build()), {
            what: name,
            ...(opts.signal && { signal: opts.signal }),
            onEvent: (action, contentHash) =>
              opts.onEvent?.({ type: 'artifact', name, action, ...(contentHash && { contentHash }) }),
            onWarning: (message) => opts.onEvent?.({ type: 'warning', message }),
          });
        const surrogate = !surrogateNeeded
          ? Promise.resolve(undefined)
          : cached
            ? once(art.surrogate, 'surrogate', () => exec({ kind: 'surrogate' }))
            : exec({ kind: 'surrogate' });
        surrogate.catch(() => {}); // its failure reaches the runs through their poisons
        // Each poison waits for the surrogate (A and B need it), then is generated once.
        const poisonJobs = new Map<string, Promise<unknown>>();
        for (const p of poisons) {
          const needs = attackNeedsSurrogate(p);
          const record = (path: string, report: unknown) =>
            store.insertPoison(hash, {
              poisonKey: p.key,
              path,
              report,
              finishedAt: new Date().toISOString(),
            });
          const build = () => exec({ kind: 'poison', poison: p });
          const job = (needs ? surrogate : Promise.resolve()).then(async () => {
            if (!cached) {
              const r = await build();
              if (r.kind === 'poison') record(r.path, r.report);
              return;
            }
            let report: unknown;
            const { built, meta } = await once(art.poison(p.key), `poison ${p.key}`, async () => {
              const r = await build();
              if (r.kind === 'poison') report = r.report;
            });
            // Built by another task: its report travels in the file's meta (as `poisonlab poison` writes it).
            if (!built) report = (meta as { report?: unknown } | undefined)?.report;
            record(art.poison(p.key), report ?? null);
          });
          poisonJobs.set(p.key, job);
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
          // A run that ends while the sweep stops (its last epoch) is stored like any other.
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
            ...(result.resumedAfter !== undefined && { resumedAfter: result.resumedAfter }),
          });
        };
        const trained = Promise.allSettled(todo.map(trainOne));
        const settled = await Promise.race([trained, stoppedNow.then(() => [])]);
        await Promise.race([theory, stoppedNow]);
        if (!stopped)
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
      stopped,
    });
  } finally {
    store.close();
  }
}

/** The default of SweepOptions.stopGraceMs: half of the 120 s that `poisonlab slurm` asks to be warned before. */
export const STOP_GRACE_MS = 60_000;

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
    stopped?: boolean;
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
    ...(s.stopped && { stopped: true }),
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
