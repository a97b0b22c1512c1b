import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { configHash } from '../../src/config/schema.js';
import { planRuns } from '../../src/experiments/plan.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { curvePoints, tQuantile975, WIDTH_METRICS } from '../../src/report/curve.js';
import { ucurveSpec, widthCurveSpec } from '../../src/report/plot.js';
import { aggregate, SweepStore, sweepPaths } from '../../src/results/index.js';
import { budgetFraction, SweepSource } from '../../src/serve/data.js';
import { fakeAccuracy } from '../experiments/fixtures/fake-tasks.js';
import { FAKE_TASKS } from '../experiments/fixtures/paths.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';
import { epoch, finishedSweep, runningSweep } from './fixtures.js';

test('a sweep stores each run’s epochs as they come from its worker, and its failures and session', async () => {
  const out = mkdtempSync(join(tmpdir(), 'poisonlab-live-'));
  const config = smallConfig({ widths: [10, 100], regimes: [{ regime: 'clean' }], repetitions: 2 });
  process.env['FAKE_FAIL'] = 'w100/r1';
  try {
    const s = await runSweep(config, { out, workers: 2, taskModule: FAKE_TASKS });
    assert.deepEqual([s.done, s.failed], [3, 1]);
  } finally {
    delete process.env['FAKE_FAIL'];
  }
  const hash = configHash(config);
  const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
  try {
    for (const r of store.runs(hash)) {
      const epochs = store.epochs(hash, r.runKey);
      assert.deepEqual(
        epochs.map((e) => e.epoch),
        [1, 2, 3, 4],
        r.runKey,
      );
      assert.equal(epochs[3]!.testAccuracy, fakeAccuracy('clean', r.width, r.seed, r.fold));
      assert.equal(epochs[0]!.valAccuracy, null);
    }
    assert.deepEqual(
      store.runStatuses(hash).map((r) => [r.runKey, r.status, r.message]),
      [['clean/w100/r1/f0', 'failed', 'clean/w100/r1/f0: injected failure of clean/w100/r1/f0']],
    );
    const sessions = store.sessions(hash);
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.workers, 2);
    assert.equal(sessions[0]!.runs, 4);
    assert.ok(sessions[0]!.endedAt !== null, 'the session ended');
  } finally {
    store.close();
  }
  // The dashboard's view of it: 3 done, 1 failed, nothing running (the session ended).
  const source = new SweepSource(out, 0);
  try {
    const o = source.overview();
    assert.deepEqual([o.total, o.done, o.running, o.failed, o.left, o.workers], [4, 3, 0, 1, 0, 0]);
    assert.equal(o.etaSeconds, null);
    const failed = source.runs().find((r) => r.status === 'failed');
    assert.match(failed?.error ?? '', /injected failure/);
  } finally {
    source.close();
  }
});

test('folders of older versions (no epochs/status/session tables) stay readable; a sweep adds the tables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-old-'));
  const s = finishedSweep('old');
  // Make an "old" folder: the same database without the live-view tables.
  const db = new Database(sweepPaths(s.dir).db);
  db.exec('DROP TABLE epochs; DROP TABLE run_status; DROP TABLE sessions;');
  db.close();
  const ro = SweepStore.open(sweepPaths(s.dir).db, { readonly: true });
  assert.equal(ro.hasTable('epochs'), false);
  assert.deepEqual(ro.epochs(s.hash, s.plan[0]!.key), []);
  assert.deepEqual(ro.runStatuses(s.hash), []);
  assert.deepEqual(ro.sessions(s.hash), []);
  assert.equal(ro.epochCounts(s.hash).size, 0);
  ro.close();
  const source = new SweepSource(s.dir, 0);
  assert.equal(source.overview().done, 18);
  assert.deepEqual(source.run(s.plan[0]!.key)?.epochs, []);
  source.close();
  const rw = SweepStore.open(sweepPaths(s.dir).db);
  assert.ok(rw.hasTable('epochs') && rw.hasTable('run_status') && rw.hasTable('sessions'));
  rw.close();
  assert.ok(dir);
});

test('a run started again keeps the epochs it resumes from and drops those it redoes; a finished run is no longer running', () => {
  const s = runningSweep(8);
  const key = s.plan[8]!.key;
  assert.equal(s.store.epochs(s.hash, key).length, 1);
  for (const e of [2, 3, 4]) s.store.insertEpoch(s.hash, key, epoch(e, 0.8));
  assert.equal(s.store.epochCounts(s.hash).get(key), 4);
  // restarted: resumed from a checkpoint after epoch 2, its epoch 3 replaces epochs 3 and 4 of the attempt before
  s.store.markRunning(s.hash, key, s.session);
  assert.equal(s.store.epochs(s.hash, key).length, 4, 'the history stays until the run redoes it');
  s.store.insertEpoch(s.hash, key, epoch(3, 0.9));
  assert.deepEqual(
    s.store.epochs(s.hash, key).map((e) => [e.epoch, e.valAccuracy]),
    [
      [1, s.store.epochs(s.hash, key)[0]!.valAccuracy],
      [2, epoch(2, 0.8).valAccuracy],
      [3, epoch(3, 0.9).valAccuracy],
    ],
  );
  // started over (no checkpoint): its epoch 1 replaces the whole earlier attempt
  s.store.insertEpoch(s.hash, key, epoch(1, 0.5));
  assert.deepEqual(
    s.store.epochs(s.hash, key).map((e) => e.epoch),
    [1],
  );
  s.store.clearRunStatus(s.hash, key);
  assert.equal(
    s.store.runStatuses(s.hash).some((r) => r.runKey === key),
    false,
  );
  s.store.close();
});

test('the dashboard counts done, running, failed and left runs; a stale heartbeat is not running', () => {
  const s = runningSweep(8);
  const source = new SweepSource(s.dir, 0);
  try {
    const o = source.overview();
    assert.deepEqual([o.total, o.done, o.running, o.failed, o.left], [18, 8, 2, 1, 7]);
    assert.equal(o.workers, 2);
    assert.ok(o.runsPerHour !== null && o.runsPerHour > 0);
    assert.ok(o.etaSeconds !== null && o.etaSeconds > 0);
    // Ten minutes later without a heartbeat the sweep is taken as dead: its runs are left, not running.
    const later = source.overview(Date.now() + 600_000);
    assert.deepEqual([later.running, later.left, later.workers, later.etaSeconds], [0, 9, 0, null]);
    const d = source.run(s.plan[8]!.key);
    assert.equal(d?.row.status, 'running');
    assert.equal(d?.row.epochs, 1);
    assert.equal(source.run('no/such/run'), undefined);
  } finally {
    source.close();
    s.store.close();
  }
});

test('width curves: mean with a std or 95% CI band per (regime, width)', () => {
  assert.equal(tQuantile975(1), 12.706);
  assert.ok(Math.abs(tQuantile975(60) - 2.0) < 0.01);
  const s = finishedSweep('curve');
  const store = SweepStore.open(sweepPaths(s.dir).db, { readonly: true });
  const runs = store.runs(s.hash);
  store.close();
  const std = curvePoints(runs, WIDTH_METRICS['testAccuracy']!, 'std');
  const ci = curvePoints(runs, WIDTH_METRICS['testAccuracy']!, 'ci95');
  assert.equal(std.length, 9);
  const labels = [...new Set(s.plan.map((r) => r.label))];
  assert.deepEqual(
    [...new Set(std.map((p) => p.series))],
    ['clean', ...labels.filter((l) => l !== 'clean').sort()],
    'clean first, then the regimes in label order',
  );
  for (const [i, p] of std.entries()) {
    const cell = runs.filter((r) => r.label === p.series && r.width === p.width).map((r) => r.testAccuracy);
    assert.equal(p.n, 2);
    const mean = (cell[0]! + cell[1]!) / 2;
    const sd = Math.abs(cell[0]! - cell[1]!) / Math.SQRT2;
    assert.ok(Math.abs(p.mean - mean) < 1e-12);
    assert.ok(Math.abs(p.hi - p.mean - sd) < 1e-12);
    // n = 2: the CI half-width is t(1) * sd / sqrt(2).
    assert.ok(Math.abs(ci[i]!.hi - ci[i]!.mean - (12.706 * sd) / Math.SQRT2) < 1e-9);
  }
  assert.equal(planRuns(s.config).length, runs.length);
  // The dashboard's curve of test accuracy with a std band is the static report's U-curve, spec for spec.
  assert.deepEqual(
    widthCurveSpec(std, { title: 't', yTitle: 'clean test accuracy', yFormat: '.0%' }),
    ucurveSpec(aggregate(runs), 't'),
  );
});

test('budget fraction of a poison report, per regime', () => {
  assert.equal(budgetFraction({ regime: 'A', budget: 100, deltaNormSum: 80 }), 0.8);
  assert.equal(budgetFraction({ regime: 'B', budget: 2, deltaNormMax: 1 }), 0.5);
  assert.equal(budgetFraction({ regime: 'C', budget: 0.2, labelsFlipped: 30, n: 300 }), 0.5);
  assert.equal(budgetFraction({ fake: true }), null);
  assert.equal(budgetFraction(null), null);
});

test('a long task (a poison’s attack) shows with its progress, rate and ETA while its sweep lives; a resumed one counts from where it resumed', () => {
  const s = runningSweep(8);
  const source = new SweepSource(s.dir, 0);
  try {
    s.store.updateTask(s.hash, 'poison A-C500-shared', s.session, 1000, 4000);
    // the same session's later update keeps where its piece started; the rate counts from there
    s.store.updateTask(s.hash, 'poison A-C500-shared', s.session, 1500, 4000);
    const [t] = source.overview().tasks;
    assert.equal(t?.task, 'poison A-C500-shared');
    assert.deepEqual([t?.done, t?.total], [1500, 4000]);
    const row = s.store.tasks(s.hash)[0]!;
    assert.equal(row.firstDone, 1000, 'the piece started at the resumed step, not at 0');
    // another session (a resumed sweep) starts a new piece
    const next = s.store.startSession(s.hash, 2, s.plan.length);
    s.store.updateTask(s.hash, 'poison A-C500-shared', next, 1600, 4000);
    assert.equal(s.store.tasks(s.hash)[0]!.firstDone, 1600);
    // a dead sweep's task is not in progress; an ended task is gone
    assert.deepEqual(source.overview(Date.now() + 600_000).tasks, []);
    s.store.endTask(s.hash, 'poison A-C500-shared');
    assert.deepEqual(source.overview().tasks, []);
  } finally {
    source.close();
    s.store.close();
  }
});

test('the ETA of a task: steps left over the rate of its current piece', async () => {
  const { taskView } = await import('../../src/serve/data.js');
  const v = taskView({
    task: 'poison B-B1-shared',
    session: 1,
    firstDone: 200,
    done: 1200,
    total: 5200,
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:01:40.000Z',
  });
  assert.equal(v.stepsPerSecond, 10);
  assert.equal(v.etaSeconds, 400);
  const fresh = taskView({ ...v, session: 1, firstDone: 1200, startedAt: v.updatedAt });
  assert.deepEqual([fresh.stepsPerSecond, fresh.etaSeconds], [null, null]);
});
