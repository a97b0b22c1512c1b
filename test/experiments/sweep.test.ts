import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { planRuns } from '../../src/experiments/plan.js';
import { runSweep, type SweepEvent } from '../../src/experiments/sweep.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { fakeAccuracy } from './fixtures/fake-tasks.js';
import { FAKE_TASKS } from './fixtures/paths.js';
import { smallConfig } from './fixtures/small-config.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'poisonlab-sweep-'));
}

test('a sweep runs every run in a worker pool, makes the surrogate and each poison once, then skips all', async () => {
  const out = tmp();
  const log = join(out, 'tasks.log');
  process.env['FAKE_LOG'] = log;
  process.env['FAKE_DELAY_MS'] = '40'; // so that both workers get runs
  const config = smallConfig();
  const events: SweepEvent[] = [];
  try {
    const s = await runSweep(config, {
      out,
      workers: 2,
      taskModule: FAKE_TASKS,
      onEvent: (e) => events.push(e),
    });
    assert.equal(s.runs, 18);
    assert.equal(s.done, 18);
    assert.equal(s.skipped, 0);
    assert.equal(s.failed, 0);
    assert.equal(s.workers, 2);
    const starts = readFileSync(log, 'utf8').trim().split('\n');
    const names = starts.map((l) => l.split(' ')[1]);
    assert.equal(names.filter((n) => n === 'surrogate').length, 1);
    assert.equal(names.filter((n) => n === 'poison').length, 4, 'A and C, two repetitions each');
    assert.equal(new Set(starts.map((l) => l.split(' ').at(-2))).size, 2, 'two worker processes');
    assert.ok(
      starts.every((l) => l.endsWith(' 1')),
      'workers of a pool > 1 get OPENBLAS_NUM_THREADS=1',
    );
    assert.ok(existsSync(sweepPaths(out).poison('A-C500-r1')));
    // Stored metrics are what the task returned, per run.
    const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
    const runs = store.runs(configHash(config));
    assert.equal(store.poisons(configHash(config)).length, 4);
    store.close();
    assert.deepEqual(
      runs.map((r) => r.runKey).sort(),
      planRuns(config)
        .map((r) => r.key)
        .sort(),
    );
    for (const r of runs) assert.equal(r.testAccuracy, fakeAccuracy(r.regime, r.width, r.seed, r.fold));
    assert.equal(s.cells.length, 9);
    assert.ok(events.some((e) => e.type === 'task-progress'));
    assert.equal(events.filter((e) => e.type === 'run-done').length, 18);

    const again = await runSweep(config, { out, workers: 2, taskModule: FAKE_TASKS });
    assert.deepEqual([again.done, again.skipped, again.runs], [0, 18, 18]);
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, starts.length, 'nothing was redone');
  } finally {
    delete process.env['FAKE_LOG'];
    delete process.env['FAKE_DELAY_MS'];
  }
});

test('failed runs are reported and retried on the next call; shards together cover the sweep', async () => {
  const out = tmp();
  const config = smallConfig({ widths: [10, 100] });
  process.env['FAKE_FAIL'] = '/w100/r1';
  try {
    const s = await runSweep(config, {
      out,
      workers: 1,
      taskModule: FAKE_TASKS,
      shard: { index: 0, count: 2 },
    });
    const t = await runSweep(config, {
      out,
      workers: 1,
      taskModule: FAKE_TASKS,
      shard: { index: 1, count: 2 },
    });
    assert.equal(s.runs + t.runs, 12);
    assert.equal(s.failed + t.failed, 3, 'one w100/r1 run per regime');
    assert.ok(
      [...s.failures, ...t.failures].every((f) => /injected failure of .*\/w100\/r1\//.test(f.message)),
    );
  } finally {
    delete process.env['FAKE_FAIL'];
  }
  const retry = await runSweep(config, { out, workers: 1, taskModule: FAKE_TASKS });
  assert.deepEqual([retry.done, retry.skipped, retry.failed], [3, 9, 0]);
});

test('a folder holding another config refuses a different sweep', async () => {
  const out = tmp();
  await runSweep(smallConfig({ widths: [10], regimes: [{ regime: 'clean' }] }), {
    out,
    workers: 1,
    taskModule: FAKE_TASKS,
  });
  await assert.rejects(
    runSweep(smallConfig({ widths: [20], regimes: [{ regime: 'clean' }] }), {
      out,
      workers: 1,
      taskModule: FAKE_TASKS,
    }),
    /holds a sweep with another config/,
  );
});

test('a free worker takes the surrogate first, then the runs whose poison exists (narrowest first), then a poison', async () => {
  const out = tmp();
  const log = join(out, 'tasks.log');
  process.env['FAKE_LOG'] = log;
  const config = smallConfig({ widths: [1000, 10, 100], repetitions: 1 });
  try {
    await runSweep(config, { out, workers: 1, taskModule: FAKE_TASKS });
    const started = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1, -2).join(' '));
    const runs = (label: string) => [10, 100, 1000].map((w) => `${label}/w${w}/r0/f0`);
    // C's flips need no surrogate and A waits for it, but neither poison goes before a run that can start
    assert.deepEqual(started, [
      'surrogate',
      ...runs('clean'),
      'poison C-beta0.2-r0',
      ...runs('C-beta0.2'),
      'poison A-C500-r0',
      ...runs('A-C500'),
    ]);
  } finally {
    delete process.env['FAKE_LOG'];
  }
});

test("sweep --runs trains only the chosen runs and makes only their poisons, in the whole sweep's folder", async () => {
  const out = tmp();
  const log = join(out, 'tasks.log');
  process.env['FAKE_LOG'] = log;
  const config = smallConfig();
  try {
    const s = await runSweep(config, { out, workers: 1, taskModule: FAKE_TASKS, runs: 'A-C500/w10/*' });
    assert.deepEqual([s.done, s.failed], [2, 0]);
    const started = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ').slice(1, -2).join(' '));
    assert.deepEqual(started.filter((n) => n.startsWith('poison')).sort(), [
      'poison A-C500-r0',
      'poison A-C500-r1',
    ]);
    // the rest of the sweep, later, in the same folder: the two runs are not redone
    const rest = await runSweep(config, { out, workers: 1, taskModule: FAKE_TASKS });
    assert.deepEqual([rest.done, rest.skipped], [16, 2]);
  } finally {
    delete process.env['FAKE_LOG'];
  }
});
