import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyOverrides, parseConfig } from '../../src/config/schema.js';
import { getPreset } from '../../src/experiments/presets.js';
import { runSweep } from '../../src/experiments/sweep.js';
import { writeReport } from '../../src/report/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'poisonlab-theory-'));

test('a tiny theory-toy sweep runs through the engine and its report states gamma and the window', async () => {
  const out = tmp();
  const config = applyOverrides(getPreset('theory-toy'), { widths: [10, 3000], repetitions: 2 });
  const s = await runSweep(config, { out, workers: 1 });
  assert.equal(s.failed, 0, JSON.stringify(s.failures));
  assert.equal(s.done, 3 * 2 * 2);
  assert.ok(existsSync(join(out, 'poisons', 'B-shift0.975-r0.npz')));
  assert.ok(!existsSync(join(out, 'surrogate.npz')), 'the shift needs no surrogate');
  const clean = s.cells.filter((c) => c.label === 'clean');
  assert.ok(
    clean.every((c) => c.mean > 0.95),
    'the clean toy is separable',
  );
  const r = await writeReport(out);
  assert.ok(r.theory);
  // gamma of the unit-normalised toy lies in (0, 1/2]; the window starts at 1 / gamma^8.
  assert.ok(r.theory.gamma > 0.2 && r.theory.gamma <= 0.5, `gamma ${r.theory.gamma}`);
  assert.ok(Math.abs(r.theory.widthMin - 1 / r.theory.gamma ** 8) < 1e-6 * r.theory.widthMin);
  const c = r.theory.regimes.find((x) => x.label === 'C-beta0.4')!;
  assert.ok(c.widthMax !== null && c.widthMax > r.theory.widthMin);
  const summary = readFileSync(r.files.summary, 'utf8');
  assert.match(summary, /Margin gamma = 0\.\d{4}/);
  assert.match(summary, /\| C-beta0\.4 \| \d+ <= m <= /);
  const svg = readFileSync(r.files.svg, 'utf8');
  assert.match(svg, /theory: m ≥ 1\/γ⁸ = \d+/, 'the window is drawn at its lower end');
  assert.ok(existsSync(join(out, 'theory.json')));
});

test('a tiny sample-size sweep poisons per size and reports excess loss and error against n', async () => {
  const out = tmp();
  const config = parseConfig({
    ...getPreset('samplesize-quick'),
    classes: '0,1',
    limit: 240,
    testLimit: 200,
    sizes: [120, 240],
    widths: [32],
    regimes: [{ regime: 'clean' }, { regime: 'A', budget: 100 }],
    attack: { epochs: 2, step: 20, batchSize: 64 },
    surrogate: { model: 'twolayer', width: 16, epochs: 1, lr: 0.1, batchSize: 32 },
    training: { lr: 0.1, batchSize: 32, maxEpochs: 2 },
  });
  const s = await runSweep(config, { out, workers: 1 });
  assert.equal(s.failed, 0, JSON.stringify(s.failures));
  assert.equal(s.done, 4);
  for (const key of ['A-C100-n120-r0', 'A-C100-n240-r0'])
    assert.ok(existsSync(join(out, 'poisons', `${key}.npz`)), key);
  const r = await writeReport(out);
  assert.ok(r.samplesize && r.files.samplesizePng && existsSync(r.files.samplesizePng));
  assert.deepEqual(
    r.samplesize.map((x) => `${x.budget}|${x.size}`),
    ['0|120', '0|240', '100|120', '100|240'],
  );
  assert.ok(r.samplesize.filter((x) => x.budget === 0).every((x) => x.errorMean === 0 && x.lossMean === 0));
  assert.match(readFileSync(r.files.summary, 'utf8'), /## Sample size: regime A, excess over clean/);
});
