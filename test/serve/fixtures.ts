/**
 * Sweep folders for the dashboard's tests, written through the store API (what a sweep process writes):
 * a finished sweep, and a sweep "still running" (a live session, runs in flight with epochs, a failure).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configHash, type ExperimentConfig } from '../../src/config/schema.js';
import { planRuns, type RunSpec, runRecord } from '../../src/experiments/plan.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { fakeAccuracy } from '../experiments/fixtures/fake-tasks.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';

export interface FixtureSweep {
  dir: string;
  config: ExperimentConfig;
  hash: string;
  plan: RunSpec[];
}

function newSweep(name: string, over: Record<string, unknown> = {}): FixtureSweep & { store: SweepStore } {
  const dir = mkdtempSync(join(tmpdir(), `poisonlab-serve-${name}-`));
  const config = smallConfig({ name, ...over });
  const hash = configHash(config);
  const store = SweepStore.open(sweepPaths(dir).db, { create: true });
  store.bindConfig(config, hash);
  return { dir, config, hash, plan: planRuns(config), store };
}

/** Store `run` as finished, with `epochs` epochs of history, as the sweep process does. */
export function finishRun(store: SweepStore, hash: string, run: RunSpec, epochs = 3, offset = 0): void {
  const acc = fakeAccuracy(run.regime?.regime ?? run.label, run.width, run.seed, run.fold) + offset;
  store.markRunning(hash, run.key, null);
  for (let e = 1; e <= epochs; e++) store.insertEpoch(hash, run.key, epoch(e, acc));
  const now = Date.now();
  store.insertRun(
    runRecord(
      hash,
      run,
      {
        testAccuracy: acc,
        testLoss: 1 - acc,
        bestValAccuracy: acc + 0.01,
        epochs,
        bestEpoch: epochs,
        seconds: 2 + run.width / 100,
        samplesPerSecond: 1000,
      },
      {
        startedAt: new Date(now - 60_000).toISOString(),
        finishedAt: new Date(now).toISOString(),
        host: 'fixture-host',
      },
    ),
  );
  store.clearRunStatus(hash, run.key);
}

/** Metrics of epoch `e` of a run that ends at accuracy `acc`. */
export function epoch(e: number, acc: number) {
  return {
    epoch: e,
    trainLoss: 1 / e,
    trainAccuracy: acc - 0.1 / e + 0.02,
    valLoss: 1.1 / e,
    valAccuracy: acc - 0.1 / e + 0.01,
    testLoss: 1.2 / e,
    testAccuracy: acc - 0.1 / e,
    seconds: 1,
  };
}

function poisonReports(store: SweepStore, hash: string): void {
  store.insertPoison(hash, {
    poisonKey: 'A-C500-r0',
    path: 'poisons/A-C500-r0.npz',
    report: { regime: 'A', budget: 100, n: 300, deltaNormSum: 80, deltaNormMax: 3, samplesChanged: 300 },
    finishedAt: new Date().toISOString(),
  });
}

/** The small config's settings changed to the paper's protocol (batches of 128), so the figure is drawn beside it. */
export const PAPER_PROTOCOL = { training: { lr: 0.1, batchSize: 128, maxEpochs: 2, patience: 1 } };

/** Every run of the small config (3 regimes x 3 widths x 2 repetitions, one fold) finished. */
export function finishedSweep(
  name = 'finished',
  offset = 0,
  over: Record<string, unknown> = {},
): FixtureSweep {
  const { store, ...s } = newSweep(name, over);
  const session = store.startSession(s.hash, 2, s.plan.length);
  for (const run of s.plan) finishRun(store, s.hash, run, 3, offset);
  poisonReports(store, s.hash);
  store.touchSession(session, true);
  store.close();
  return s;
}

/**
 * A sweep in progress: the first `done` runs finished, the next two running (epochs stored) in a live session
 * with 2 workers, the one after failed; the rest left. The store stays open (the test writes more).
 */
export function runningSweep(done = 8): FixtureSweep & { store: SweepStore; session: number } {
  const s = newSweep('running');
  const session = s.store.startSession(s.hash, 2, s.plan.length);
  for (const run of s.plan.slice(0, done)) finishRun(s.store, s.hash, run);
  for (const run of s.plan.slice(done, done + 2)) {
    s.store.markRunning(s.hash, run.key, session);
    s.store.insertEpoch(s.hash, run.key, epoch(1, 0.8));
  }
  s.store.markFailed(s.hash, s.plan[done + 2]!.key, 'injected failure: out of memory');
  poisonReports(s.store, s.hash);
  return { ...s, session };
}
