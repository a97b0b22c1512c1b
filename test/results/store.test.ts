import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { type RunRecord, SweepStore } from '../../src/results/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';

export function record(hash: string, key: string, acc: number): RunRecord {
  return {
    configHash: hash,
    runKey: key,
    regime: 'clean',
    label: 'clean',
    budget: null,
    width: 10,
    repetition: 0,
    fold: 0,
    seed: 0,
    testAccuracy: acc,
    testLoss: 0.3,
    bestValAccuracy: 0.9,
    epochs: 5,
    bestEpoch: 3,
    seconds: 1.5,
    samplesPerSecond: 100,
    startedAt: '2024-01-01T00:00:00.000Z',
    finishedAt: '2024-01-01T00:00:01.500Z',
    host: 'test',
  };
}

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
