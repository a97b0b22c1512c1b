/**
 * The theory overlay is a sweep task: computed once per folder, stored in runs.sqlite, resumed like the other
 * tasks, carried by merge, and only read by the report (the fake task module's overlay has gamma 0.123, a value
 * no real estimate of these settings gives).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { mergeSweeps } from '../../src/experiments/merge.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { writeReport } from '../../src/report/index.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { FAKE_TASKS } from './fixtures/paths.js';
import { smallConfig } from './fixtures/small-config.js';

const config = smallConfig({ widths: [10, 100], repetitions: 1, theory: { delta: 0.1 } });
const hash = configHash(config);

function theoryStarts(log: string): number {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('start theory ')).length;
}

function storedTheory(dir: string) {
  const store = SweepStore.open(sweepPaths(dir).db, { readonly: true });
  try {
    return store.theory(hash);
  } finally {
    store.close();
  }
}

test('the sweep computes the theory overlay once, stores it, and the report reads the stored one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-theory-task-'));
  const log = join(dir, 'tasks.log');
  process.env['FAKE_LOG'] = log;
  try {
    const first = await runSweep(config, { out: dir, workers: 1, taskModule: FAKE_TASKS });
    assert.equal(first.failed, 0, JSON.stringify(first.failures));
    assert.equal(theoryStarts(log), 1);
    assert.equal(storedTheory(dir)?.gamma, 0.123);

    // Resumed: the stored overlay is not computed again.
    await runSweep(config, { out: dir, workers: 1, taskModule: FAKE_TASKS });
    assert.equal(theoryStarts(log), 1);

    const r = await writeReport(dir);
    assert.equal(r.theory?.gamma, 0.123);
    assert.match(readFileSync(r.files.summary, 'utf8'), /Margin gamma = 0\.1230/);
    assert.equal(JSON.parse(readFileSync(r.files.theory!, 'utf8')).gamma, 0.123);

    // merge carries it to the merged folder.
    const merged = join(dir, 'merged');
    mergeSweeps(merged, [dir]);
    assert.equal(storedTheory(merged)?.gamma, 0.123);

    // A folder whose overlay is missing (a sweep of an older version): the report says so and computes nothing;
    // the next sweep computes it, although every run is finished.
    const store = SweepStore.open(sweepPaths(dir).db);
    store.db.prepare('DELETE FROM theory').run();
    store.close();
    rmSync(r.files.theory!);
    const without = await writeReport(dir);
    assert.equal(without.theory, undefined);
    assert.equal(without.files.theory, undefined);
    assert.match(
      readFileSync(without.files.summary, 'utf8'),
      /Not computed yet: the sweep computes the overlay/,
    );
    const again = await runSweep(config, { out: dir, workers: 1, taskModule: FAKE_TASKS });
    assert.equal(again.done, 0);
    assert.equal(theoryStarts(log), 2);
    assert.equal(storedTheory(dir)?.gamma, 0.123);
  } finally {
    delete process.env['FAKE_LOG'];
  }
});
