// Uses poisonlab the way a user's project would: by its package name (needs `npm run build` first,
// which `npm test` does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as poisonlab from 'poisonlab';
import {
  applyOverrides,
  createAttack,
  createModel,
  getPreset,
  initBackend,
  loadDataset,
  PoisonlabError,
  parseConfig,
  runSweep,
  train,
  writeReport,
} from 'poisonlab';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

test('the README example runs through the package entry point', async () => {
  await initBackend({ quiet: true });
  const { train: clean, test: testSet } = await loadDataset('mnist', { limit: 1000, testLimit: 500 });
  const model = createModel('cnn', { width: 50, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  const flip = createAttack('C', { beta: 0.3, seed: 0 });
  const { dataset: poisoned, report } = await flip.poison(clean);
  assert.equal(report.regime, 'C');
  assert.ok(
    report.labelsFlipped > 200 && report.labelsFlipped < 400,
    `flipped ${report.labelsFlipped} of 1000`,
  );
  const result = await train(
    model,
    { train: poisoned, test: testSet },
    { epochs: 1, batchSize: 64, lr: 0.1, seed: 0 },
  );
  assert.equal(result.epochs, 1);
  assert.ok(result.final.testAccuracy! >= 0 && result.final.testAccuracy! <= 1);
  model.dispose();
});

test('errors thrown by the library are PoisonlabErrors with one-line messages', () => {
  assert.throws(
    () => createModel('cnn', { width: -3, inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
    (e: unknown) => e instanceof PoisonlabError && !e.message.includes('\n'),
  );
});

test('the curated API: every stage is there, internals are not', () => {
  const api = poisonlab as Record<string, unknown>;
  for (const name of [
    // datasets, models, attacks (+ registry), defences, training
    'loadDataset',
    'trainValSplit',
    'readPoisonFile',
    'writePoisonFile',
    'datasetDefaults',
    'createModel',
    'createAttack',
    'defineAttack',
    'registerAttack',
    'listAttacks',
    'createDefence',
    'listDefences',
    'train',
    'evaluate',
    // sweeps, results, report
    'runSweep',
    'getPreset',
    'presetNames',
    'parseConfig',
    'loadConfigFile',
    'configHash',
    'mergeSweeps',
    'SweepStore',
    'aggregate',
    'writeReport',
    // theory, surrogates, checkpoints
    'theoryBounds',
    'estimateMargin',
    'trainSurrogate',
    'loadSurrogate',
    'saveSurrogate',
    'resolveSurrogatePath',
    'saveCheckpoint',
    'loadCheckpoint',
    'loadModelFile',
    'loadTorchModel',
    'saveTorchSafetensors',
    'readPth',
    'readSafetensors',
    'writeSafetensors',
    'PoisonlabError',
  ])
    assert.equal(typeof api[name], 'function', name);
  for (const internal of [
    'readTar',
    'isUnsafeTarPath',
    'IDX_IMAGES_MAGIC',
    'IDX_LABELS_MAGIC',
    'parseIdx',
    'parseCifarRecords',
    'checkMemory',
    'checkModelMemory',
    'l21Threshold',
    'projectL21BallTensor',
    'setNativeEnabled',
  ])
    assert.equal(api[internal], undefined, `${internal} is internal`);
});

test('a sweep and its report through the package: runSweep, writeReport', async () => {
  const out = mkdtempSync(join(tmpdir(), 'poisonlab-library-'));
  const config = parseConfig(applyOverrides(getPreset('theory-toy'), { widths: [10], repetitions: 1 }));
  const summary = await runSweep(config, { out, workers: 1 });
  assert.equal(summary.failed, 0, JSON.stringify(summary.failures));
  const report = await writeReport(out);
  assert.equal(report.runs, summary.runs);
  assert.ok(report.theory && report.theory.gamma > 0, 'the theory overlay the sweep stored');
  assert.ok(existsSync(report.files.html));
});

test("README's library examples type-check against the built package", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Library'),
    readme.indexOf('\n## ', readme.indexOf('## Library') + 1),
  );
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 2, 'the library section has its examples');
  // Inside the package folder, so that 'poisonlab' resolves to this package (its exports, dist/ types).
  const dir = mkdtempSync(join(ROOT, '.readme-examples-'));
  try {
    const files = blocks.map((code, i) => {
      const f = join(dir, `example-${i}.ts`);
      writeFileSync(f, `${code}\nexport {};\n`);
      return f;
    });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'ES2022',
        '--module',
        'NodeNext',
        '--moduleResolution',
        'NodeNext',
        '--noUnusedLocals',
        'false',
        ...files,
      ],
      { encoding: 'utf8', cwd: ROOT },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
