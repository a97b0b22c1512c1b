import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { SweepStore } from '../../src/results/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';
import { record } from './fixtures.js';

test('the store binds one config per folder; another config is a one-line error unless forced', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'poisonlab-store-')), 'runs.sqlite');
  const a = smallConfig();
  const b = smallConfig({ repetitions: 5 });
  const store = SweepStore.open(path, { create: true });
  store.bindConfig(a, configHash(a));
  store.bindConfig(a, configHash(a)); // same config again: fine
  assert.equal(store.getConfig()?.hash, configHash(a));
  assert.deepEqual(store.getConfig()?.config, a);
  assert.throws(
    () => store.bindConfig(b, configHash(b)),
    (e: Error) =>
      e instanceof PoisonlabError &&
      /holds a sweep with another config .* use another --out, .* or --force/.test(e.message),
  );
  store.bindConfig(b, configHash(b), true);
  assert.equal(store.getConfig()?.hash, configHash(b));
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  store.close();
});

test('runs are inserted once: a duplicate keeps the first, and finished keys are per config', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'poisonlab-store-')), 'runs.sqlite');
  const store = SweepStore.open(path, { create: true });
  const c = smallConfig();
  const h = configHash(c);
  store.bindConfig(c, h);
  assert.equal(store.insertRun(record(h, 'clean/w10/r0/f0', 0.9)), true);
  assert.equal(store.insertRun(record(h, 'clean/w10/r0/f0', 0.1)), false);
  assert.equal(store.insertRun(record(h, 'clean/w10/r1/f0', 0.8)), true);
  assert.equal(store.insertRun(record('other', 'clean/w10/r2/f0', 0.7)), true);
  assert.deepEqual([...store.finishedKeys(h)].sort(), ['clean/w10/r0/f0', 'clean/w10/r1/f0']);
  const runs = store.runs();
  assert.equal(runs.length, 2);
  assert.equal(runs[0]!.testAccuracy, 0.9);
  assert.deepEqual(runs[0], record(h, 'clean/w10/r0/f0', 0.9));
  store.close();
  // Reopened (as the report does): the data is there.
  const again = SweepStore.open(path, { readonly: true });
  assert.equal(again.runs(h).length, 2);
  again.close();
  assert.throws(
    () => SweepStore.open(join(tmpdir(), 'no-such-dir-poisonlab', 'runs.sqlite')),
    (e: Error) => e instanceof PoisonlabError && /no sweep database here/.test(e.message),
  );
});

test("a run's arithmetic is stored and read back; a store made before the column gains it, old rows without", () => {
  const path = join(mkdtempSync(join(tmpdir(), 'poisonlab-store-')), 'runs.sqlite');
  const c = smallConfig();
  const h = configHash(c);
  const store = SweepStore.open(path, { create: true });
  store.bindConfig(c, h);
  // a store of the earlier schema: no arithmetic column, one run in it
  store.db.exec('ALTER TABLE runs DROP COLUMN arithmetic');
  store.db
    .prepare(
      `INSERT INTO runs (config_hash, run_key, regime, label, budget, width, repetition, fold, seed, test_accuracy,
        test_loss, best_val_accuracy, epochs, best_epoch, seconds, samples_per_second, started_at, finished_at, host)
       VALUES (?, 'clean/w10/r0/f0', 'clean', 'clean', NULL, 10, 0, 0, 0, 0.9, 0.3, 0.9, 5, 3, 1.5, 100, '', '', 'old')`,
    )
    .run(h);
  store.close();
  const again = SweepStore.open(path, { create: true });
  const line = 'wasm + native; gemm own packed AVX-512 (8x32); 1 thread(s)';
  again.insertRun({ ...record(h, 'clean/w10/r1/f0', 0.8), arithmetic: line });
  const runs = again.runs(h);
  assert.equal(runs[0]!.arithmetic, undefined, 'the old row has none');
  assert.equal(runs[1]!.arithmetic, line);
  again.close();
});
