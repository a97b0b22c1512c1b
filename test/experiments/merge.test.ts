import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { mergeSweeps } from '../../src/experiments/merge.js';
import { planRuns } from '../../src/experiments/plan.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { record } from '../results/fixtures.js';
import { CLI_MAIN, FAKE_TASKS, nodeArgs } from './fixtures/paths.js';
import { smallConfig } from './fixtures/small-config.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function storedRuns(out: string) {
  const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
  try {
    return store.runs().map((r) => ({ key: r.runKey, acc: r.testAccuracy, epochs: r.epochs }));
  } finally {
    store.close();
  }
}

test('merge combines shards into the full sweep, keeps duplicated runs once, refuses another config', async () => {
  const config = smallConfig();
  const shard = (i: number) => join(dir, `shard-${i}`);
  for (const i of [0, 1, 2])
    await runSweep(config, {
      out: shard(i),
      workers: 1,
      shard: { index: i, count: 3 },
      taskModule: FAKE_TASKS,
    });
  // A folder that overlaps shard 0 (the same runs again, e.g. a re-submitted array task).
  const again = join(dir, 'again');
  await runSweep(config, { out: again, workers: 1, shard: { index: 0, count: 3 }, taskModule: FAKE_TASKS });
  const full = join(dir, 'full');
  await runSweep(config, { out: full, workers: 1, taskModule: FAKE_TASKS });

  const out = join(dir, 'merged');
  const m = mergeSweeps(out, [shard(0), shard(1), again, shard(2)]);
  const n0 = storedRuns(shard(0)).length;
  assert.ok(n0 > 0);
  assert.equal(m.added, planRuns(config).length);
  assert.equal(m.duplicates, n0, 'the overlapping folder adds nothing');
  assert.deepEqual(m.conflicts, []);
  assert.equal(m.configHash, configHash(config));
  assert.deepEqual(storedRuns(out), storedRuns(full), 'the merged store equals the unsharded one');
  const store = SweepStore.open(sweepPaths(out).db, { readonly: true });
  assert.deepEqual(
    store.poisons(configHash(config)).map((p) => p.poisonKey),
    ['A-C500-r0', 'A-C500-r1', 'C-beta0.2-r0', 'C-beta0.2-r1'],
    'poison records come along',
  );
  store.close();

  // Merging again is idempotent.
  const twice = mergeSweeps(out, [shard(1)]);
  assert.equal(twice.added, 0);
  assert.deepEqual(storedRuns(out), storedRuns(full));

  // Another config: one line, nothing written.
  const other = join(dir, 'other');
  await runSweep(smallConfig({ widths: [10] }), { out: other, workers: 1, taskModule: FAKE_TASKS });
  const fresh = join(dir, 'fresh');
  assert.throws(
    () => mergeSweeps(fresh, [shard(0), other]),
    (e: unknown) =>
      e instanceof PoisonlabError &&
      /merge: .*other holds config small \(hash [0-9a-f]{12}\), expected hash [0-9a-f]{12} .*same config/.test(
        e.message,
      ) &&
      !e.message.includes('\n'),
  );
  assert.ok(!existsSync(fresh), 'a refused merge writes nothing');
  assert.throws(() => mergeSweeps(out, [other]), /merge: OUT .* holds config small/);
  assert.throws(() => mergeSweeps(out, [join(dir, 'nope')]), /merge: .*nope: no sweep here/);

  // Through the CLI: one line on success, `poisonlab: ...` on a refusal.
  const ok = spawnSync(process.execPath, nodeArgs(CLI_MAIN, 'merge', join(dir, 'cli'), shard(0), shard(2)), {
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^merge small \([0-9a-f]{12}\) -> cli: \d+ run\(s\) added, 0 duplicate/);
  const bad = spawnSync(process.execPath, nodeArgs(CLI_MAIN, 'merge', join(dir, 'cli2'), shard(0), other), {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^poisonlab: merge: .* expected hash/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('a rerun that differs names both arithmetics when they differ (the usual cause)', () => {
  const c = smallConfig();
  const h = configHash(c);
  const folder = (name: string, acc: number, arithmetic?: string) => {
    const out = join(dir, name);
    const store = SweepStore.open(sweepPaths(out).db, { create: true });
    store.bindConfig(c, h);
    store.insertRun({ ...record(h, 'clean/w10/r0/f0', acc), ...(arithmetic && { arithmetic }) });
    store.close();
    return out;
  };
  const own = folder('ar-own', 0.906, 'wasm + native; gemm own packed AVX-512 (8x32); 1 thread(s)');
  const blas = folder('ar-blas', 0.909, 'wasm + native; gemm OpenBLAS 0.3.21 Cooperlake; 1 thread(s)');
  const same = folder('ar-same', 0.5, 'wasm + native; gemm own packed AVX-512 (8x32); 1 thread(s)');
  const m = mergeSweeps(join(dir, 'ar-merged'), [own, blas, same]);
  assert.deepEqual(m.conflicts, [
    'clean/w10/r0/f0 [kept: wasm + native; gemm own packed AVX-512 (8x32); 1 thread(s); other: wasm + native; gemm OpenBLAS 0.3.21 Cooperlake; 1 thread(s)]',
    'clean/w10/r0/f0',
  ]);
});
