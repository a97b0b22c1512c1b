import type { ExperimentConfig } from '../config/schema.js';
import type { EpochRecord, RunMetrics, TheoryOverlay } from '../results/index.js';
import type { PoisonSpec, RunSpec } from './plan.js';

/**
 * One unit of work a sweep worker does: train the surrogate, generate a poison, train one run, or compute the
 * theory overlay (configs with `theory`).
 */
export type SweepTask =
  | { kind: 'surrogate' }
  | { kind: 'theory' }
  | { kind: 'poison'; poison: PoisonSpec }
  | { kind: 'train'; run: RunSpec };

/** What every task gets: the sweep's config, its hash, and the sweep folder. */
export interface TaskContext {
  config: ExperimentConfig;
  hash: string;
  out: string;
}

/** What a task hands back to the parent (which alone writes to the store). */
export type TaskResult =
  | { kind: 'surrogate'; meta: unknown }
  | { kind: 'theory'; overlay: TheoryOverlay }
  | { kind: 'poison'; path: string; report: unknown }
  | { kind: 'train'; metrics: RunMetrics; resumedAfter?: number };

/** Progress inside a task (epochs, attack steps, ...). */
export type TaskProgress = (done: number, total: number, what?: string) => void;

/** A training task's metrics after each epoch (the parent stores them as they come). */
export type TaskEpoch = (metrics: EpochRecord) => void;

/**
 * A module that runs tasks; the pool's workers import it by path. The real one is ./job.ts; tests inject
 * fakes, so the engine (planning, pool, store, resume) is testable without training anything.
 */
export interface TaskModule {
  runTask(
    task: SweepTask,
    ctx: TaskContext,
    onProgress: TaskProgress,
    onEpoch?: TaskEpoch,
    /** Asked after each epoch of a training run: stop now, with a checkpoint to continue from (a Slurm stop). */
    shouldStop?: () => boolean,
  ): Promise<TaskResult>;
}

/** A short human name of a task, for progress bars and errors. */
export function taskName(task: SweepTask): string {
  switch (task.kind) {
    case 'surrogate':
      return 'surrogate';
    case 'theory':
      return 'theory';
    case 'poison':
      return `poison ${task.poison.key}`;
    case 'train':
      return task.run.key;
  }
}
