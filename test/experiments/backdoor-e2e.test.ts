/**
 * The registry in a real sweep: a backdoor and a defence on a tiny MNIST slice, through the worker pool, the
 * store's named metrics and the report; and a store made before the metrics column still resumes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { configHash, parseConfig } from '../../src/config/schema.js';
import { getPreset } from '../../src/experiments/presets.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { readNpz } from '../../src/io/npz.js';
import { writeReport } from '../../src/report/index.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { FAKE_TASKS } from './fixtures/paths.js';
import { smallConfig } from './fixtures/small-config.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'poisonlab-backdoor-'));

test('badnets behind spectral signatures and bit depth: poisons, defences and named metrics end to end', async () => {
  const out = tmp();
  const config = parseConfig({
    ...getPreset('backdoor-mnist-quick'),
    limit: 400,
    testLimit: 200,
    widths: [16],
    regimes: [{ regime: 'clean' }],
    attacks: [{ name: 'badnets', params: { target: 1, rate: 0.1 } }],
    defences: [{ name: 'spectral', params: { expectedRate: 0.1 } }, { name: 'bit-depth' }],
    training: { lr: 0.1, batchSize: 32, maxEpochs: 2 },
  });
  const s = await runSweep(config, { out, workers: 1 });
  assert.equal(s.failed, 0, JSON.stringify(s.failures));
  assert.equal(s.done, 4);
  assert.ok(!existsSync(sweepPaths(out).surrogate), 'badnets needs no surrogate');
  const poison = readNpz(sweepPaths(out).poison('badnets-r0'));
  const mask = poison.arrays['poison_mask']!.data as Uint8Array;
  assert.equal(
    mask.reduce((a, b) => a + b, 0),
    40,
  );
  const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
  const runs = store.runs();
  store.close();
  const by = new Map(runs.map((r) => [r.label, r]));
  assert.deepEqual([...by.keys()].sort(), [
    'badnets',
    'badnets+bit-depth',
    'badnets+spectral-signatures',
    'clean',
  ]);
  const bad = by.get('badnets')!;
  assert.equal(bad.regime, 'badnets');
  // every run says what its numbers were computed with (the product and its threads: `poisonlab doctor`)
  for (const r of runs) assert.match(r.arithmetic ?? '', /^wasm( \+ native; gemm .+; \d+ thread\(s\))?$/);
  assert.equal(bad.metrics!['testAccuracy'], bad.testAccuracy);
  const asr = bad.metrics!['attackSuccessRate']!;
  assert.ok(asr >= 0 && asr <= 1);
  assert.equal(by.get('clean')!.metrics!['attackSuccessRate'], undefined, 'clean runs have no trigger');
  for (let k = 0; k < 10; k++) assert.ok(typeof bad.metrics![`classAccuracy.${k}`] === 'number');
  const ss = by.get('badnets+spectral-signatures')!.metrics!;
  assert.equal(ss['defenceRemoved'], 60, '1.5 * 0.1 * n_c per class, rounded, over 400 samples');
  assert.ok(ss['defencePrecision']! >= 0 && ss['defenceRecall']! <= 1);
  const bits = by.get('badnets+bit-depth')!.metrics!;
  assert.equal(bits['defenceRemoved'], 0);
  assert.equal(bits['defencePrecision'], null);
  const r = await writeReport(out, { metrics: ['classAccuracy.1'] });
  assert.ok(r.files.metrics?.['attackSuccessRate'] && existsSync(r.files.metrics['attackSuccessRate'].png));
  assert.ok(r.files.metrics?.['classAccuracy.1'] && existsSync(r.files.metrics['classAccuracy.1'].svg));
  const summary = readFileSync(r.files.summary, 'utf8');
  assert.match(summary, /## Attack-success rate/);
  assert.match(summary, /\| badnets\+spectral-signatures \| 60: /);
  await assert.rejects(writeReport(out, { metrics: ['nope'] }), /no run holds 'nope'/);
});

test('a sweep folder from before the metrics column is migrated and resumes without redoing a run', async () => {
  const out = tmp();
  process.env['FAKE_DELAY_MS'] = '0';
  const config = smallConfig();
  const first = await runSweep(config, { out, workers: 1, taskModule: FAKE_TASKS });
  assert.equal(first.done, 18);
  // Make it the store of an older poisonlab: no metrics_json column.
  const db = new Database(sweepPaths(out).db);
  db.exec('ALTER TABLE runs DROP COLUMN metrics_json');
  db.close();
  const old = SweepStore.open(sweepPaths(out).db, { readonly: true });
  assert.equal(old.runs(configHash(config)).length, 18, 'read-only, unmigrated: still readable');
  old.close();
  const again = await runSweep(config, { out, workers: 1, taskModule: FAKE_TASKS });
  assert.equal(again.skipped, 18);
  assert.equal(again.done, 0);
  const cols = new Database(sweepPaths(out).db, { readonly: true });
  const names = (cols.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name);
  cols.close();
  assert.ok(names.includes('metrics_json'), 'migrated on open');
});
