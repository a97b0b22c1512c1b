import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EpochRecord } from '../results/index.js';
import { PoisonlabError } from '../util/errors.js';
import type { SweepTask, TaskContext, TaskProgress, TaskResult } from './tasks.js';
import { taskName } from './tasks.js';

/** Parent -> worker. */
export type ParentMessage =
  | { type: 'task'; id: number; task: SweepTask; ctx: TaskContext }
  /** Checkpoint the training run in progress after its current epoch and end it (the sweep is stopping). */
  | { type: 'stop' };
/** Worker -> parent. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; id: number; done: number; total: number; what?: string }
  | { type: 'epoch'; id: number; epoch: EpochRecord }
  | { type: 'result'; id: number; result: TaskResult }
  | { type: 'error'; id: number; message: string; user: boolean };

/** An error a task raised in its worker (or the worker's death), with the task's name. */
export class TaskError extends PoisonlabError {}

/** This module's extension: '.ts' under tsx, '.js' when compiled. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The real task module (./job), as a path. */
export function defaultTaskModule(): string {
  return fileURLToPath(new URL(`./job${EXT}`, import.meta.url));
}

export interface PoolOptions {
  /** Worker processes (>= 1). */
  size: number;
  /** Path of the module whose `runTask` the workers call (default: the real ./job). */
  taskModule?: string;
  /** Extra environment of the workers (e.g. OPENBLAS_NUM_THREADS=1). */
  env?: Record<string, string>;
}

interface Pending {
  id: number;
  task: SweepTask;
  ctx: TaskContext;
  onStart?: (() => void) | undefined;
  onProgress?: TaskProgress | undefined;
  onEpoch?: ((e: EpochRecord) => void) | undefined;
  resolve: (r: TaskResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  index: number;
  child: ChildProcess;
  /** Set once the worker has loaded its task module (messages sent before could be lost). */
  ready: boolean;
  current?: Pending | undefined;
}

/**
 * Which queued task a free worker takes: a surrogate (or the theory overlay) first, since the poisons wait for it;
 * then the runs whose poison exists, narrowest first (the cheapest give numbers soonest); then the poisons still
 * to make (an attack of a whole training set takes hours). A long sweep stopped midway has thus finished every run
 * it could, rather than made poisons that nothing trained on yet. Ties go in the order queued.
 */
function startRank(task: SweepTask): [number, number] {
  if (task.kind === 'train') return [1, task.run.width];
  return [task.kind === 'poison' ? 2 : 0, 0];
}

function nextIndex(queue: readonly Pending[]): number {
  let best = 0;
  let bestRank = startRank(queue[0]!.task);
  for (let i = 1; i < queue.length; i++) {
    const rank = startRank(queue[i]!.task);
    if (rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
      best = i;
      bestRank = rank;
    }
  }
  return best;
}

/**
 * A pool of forked worker processes running sweep tasks one at a time each, in the order of `startRank`. A worker that dies
 * (crash, out of memory, kill) fails only its current task and is replaced.
 */
export class WorkerPool {
  private readonly queue: Pending[] = [];
  private readonly slots: Slot[] = [];
  private nextId = 1;
  /** Workers that died before loading their task module, in a row (a broken module must not respawn forever). */
  private startFailures = 0;
  private closed = false;
  private readonly modulePath: string;
  private readonly workerPath = fileURLToPath(new URL(`./worker${EXT}`, import.meta.url));

  constructor(private readonly opts: PoolOptions) {
    this.modulePath = opts.taskModule ?? defaultTaskModule();
    for (let i = 0; i < Math.max(1, opts.size); i++) this.slots.push(this.spawn(i));
  }

  /** Number of worker processes. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * Queue a task; resolves with its result or rejects with a TaskError naming it. `onStart` is called
   * with the worker slot index when a worker picks the task up.
   */
  run(
    task: SweepTask,
    ctx: TaskContext,
    hooks: {
      onStart?: (slot: number) => void;
      onProgress?: (slot: number, done: number, total: number) => void;
      /** A training task finished an epoch. */
      onEpoch?: (epoch: EpochRecord) => void;
    } = {},
  ): Promise<TaskResult> {
    if (this.closed) return Promise.reject(new PoisonlabError('worker pool is closed'));
    return new Promise((resolve, reject) => {
      const p: Pending = { id: this.nextId++, task, ctx, resolve, reject };
      let slotIndex = -1;
      p.onStart = () => {
        slotIndex = this.slots.findIndex((s) => s.current === p);
        hooks.onStart?.(slotIndex);
      };
      p.onProgress = (done, total) => hooks.onProgress?.(slotIndex, done, total);
      p.onEpoch = hooks.onEpoch;
      this.queue.push(p);
      this.scheduleDispatch();
    });
  }

  /**
   * Stop gracefully: start nothing more, ask the workers to end their training runs after the current epoch (with
   * a checkpoint), and wait up to `graceMs` for those runs to end; then close. Other tasks (surrogates, poisons:
   * they have no checkpoints) are not waited for.
   */
  async stop(graceMs: number): Promise<void> {
    this.closed = true; // nothing new starts, and no worker is replaced
    for (const p of this.queue.splice(0)) p.reject(new PoisonlabError('worker pool stopped'));
    const busy = this.slots.filter((s) => s.current?.task.kind === 'train' && s.child.connected);
    const ended = busy.map(
      (s) =>
        new Promise<void>((resolve) => {
          const p = s.current!;
          const { resolve: res, reject: rej } = p;
          p.resolve = (r) => {
            res(r);
            resolve();
          };
          p.reject = (e) => {
            rej(e);
            resolve();
          };
          s.child.once('exit', () => resolve());
        }),
    );
    for (const s of busy) s.child.send({ type: 'stop' } satisfies ParentMessage);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(ended), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.close();
  }

  /** Stop the workers (after their current tasks are abandoned). */
  close(): void {
    this.closed = true;
    for (const s of this.slots) {
      s.child.removeAllListeners('exit');
      if (s.child.connected) s.child.disconnect();
      s.child.kill();
      s.child.unref(); // do not keep the parent alive while a busy worker winds down
    }
    for (const p of this.queue.splice(0)) p.reject(new PoisonlabError('worker pool closed'));
  }

  private spawn(index: number): Slot {
    const execArgv = process.execArgv.filter((a) => a.startsWith('--max-old-space-size'));
    if (EXT === '.ts') execArgv.push('--import', import.meta.resolve('tsx'));
    const child = fork(this.workerPath, [this.modulePath], {
      execArgv,
      env: { ...process.env, ...this.opts.env },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const slot: Slot = { index, child, ready: false };
    child.on('message', (m: WorkerMessage) => this.onMessage(slot, m));
    child.on('exit', (code, signal) => {
      const p = slot.current;
      slot.current = undefined;
      if (this.closed) return;
      if (!slot.ready && ++this.startFailures >= 3) {
        const err = new PoisonlabError(
          `sweep worker: failed to start ${this.startFailures} times (${signal ?? `exit code ${code}`}); see the messages above`,
        );
        this.close();
        for (const q of [p, ...this.slots.map((s) => s.current)]) q?.reject(err);
        return;
      }
      if (p)
        p.reject(
          new TaskError(
            `${taskName(p.task)}: worker process died (${signal ? `signal ${signal}` : `exit code ${code}`})`,
          ),
        );
      this.slots[index] = this.spawn(index);
      this.dispatch();
    });
    return slot;
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.startFailures = 0;
      this.dispatch();
      return;
    }
    const p = slot.current;
    if (!p || p.id !== m.id) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.done, m.total);
      return;
    }
    if (m.type === 'epoch') {
      p.onEpoch?.(m.epoch);
      return;
    }
    slot.current = undefined;
    if (m.type === 'result') p.resolve(m.result);
    else p.reject(new TaskError(`${taskName(p.task)}: ${m.message}`));
    this.scheduleDispatch();
  }

  private dispatchPending = false;
  /**
   * Dispatch once the promise callbacks now due have run, so that all the tasks they queue (the runs a finished
   * poison unblocks) are ranked together rather than the first one taken alone.
   */
  private scheduleDispatch(): void {
    if (this.dispatchPending) return;
    this.dispatchPending = true;
    setImmediate(() => {
      this.dispatchPending = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.current || !slot.ready || !slot.child.connected) continue;
      const p = this.queue.splice(nextIndex(this.queue), 1)[0]!;
      slot.current = p;
      p.onStart?.();
      const msg: ParentMessage = { type: 'task', id: p.id, task: p.task, ctx: p.ctx };
      slot.child.send(msg);
    }
  }
}
