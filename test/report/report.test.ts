import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configHash } from '../../src/config/schema.js';
import { planRuns } from '../../src/experiments/plan.js';
import { aggregate, bestWidths, writeReport } from '../../src/report/index.js';
import { SweepStore, sweepPaths } from '../../src/results/index.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { fakeAccuracy } from '../experiments/fixtures/fake-tasks.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';

/** A sweep folder whose store holds every run of the small config, with U-shaped fake accuracies. */
function syntheticSweep(over: Record<string, unknown> = {}): { dir: string; runs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-report-'));
  const config = smallConfig({ widths: [10, 100, 1000, 10000], ...over });
  const hash = configHash(config);
  const store = SweepStore.open(sweepPaths(dir).db, { create: true });
  store.bindConfig(config, hash);
  const runs = planRuns(config);
  for (const r of runs) {
    const acc = fakeAccuracy(r.regime?.regime ?? r.label, r.width, r.seed, r.fold);
    store.insertRun({
      configHash: hash,
      runKey: r.key,
      regime: r.regime?.regime ?? r.label,
      label: r.label,
      budget: r.regime?.budget ?? r.regime?.beta ?? null,
      width: r.width,
      repetition: r.repetition,
      fold: r.fold,
      seed: r.seed,
      testAccuracy: acc,
      testLoss: 1 - acc,
      bestValAccuracy: acc,
      epochs: 5,
      bestEpoch: 4,
      seconds: 2,
      samplesPerSecond: 500,
      startedAt: '2024-01-01T00:00:00.000Z',
      finishedAt: '2024-01-01T00:00:02.000Z',
      host: 'test, "quoted"',
    });
  }
  store.close();
  return { dir, runs: runs.length };
}

test('aggregate gives mean, sample std and count per (regime, width); best width per regime', () => {
  const base = {
    configHash: 'h',
    regime: 'clean',
    label: 'clean',
    budget: null,
    repetition: 0,
    fold: 0,
    seed: 0,
  };
  const extra = {
    testLoss: 0,
    bestValAccuracy: null,
    epochs: 1,
    bestEpoch: 1,
    seconds: 0,
    samplesPerSecond: 0,
  };
  const stamp = { startedAt: '', finishedAt: '', host: '' };
  const cells = aggregate(
    [
      { width: 10, testAccuracy: 0.8 },
      { width: 10, testAccuracy: 0.9 },
      { width: 100, testAccuracy: 0.95 },
    ].map((r, i) => ({ ...base, ...extra, ...stamp, runKey: String(i), ...r })),
  );
  assert.equal(cells.length, 2);
  assert.equal(cells[0]!.n, 2);
  assert.ok(Math.abs(cells[0]!.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(cells[0]!.std - Math.sqrt(0.005)) < 1e-12);
  assert.equal(cells[1]!.std, 0);
  assert.deepEqual(
    bestWidths(cells).map((b) => [b.label, b.width]),
    [['clean', 100]],
  );
});

test('the report writes results.csv, summary.md, ucurve.svg/png and report.html from a store', async () => {
  const { dir, runs } = syntheticSweep();
  const r = await writeReport(dir);
  assert.equal(r.runs, runs);
  assert.deepEqual(
    r.best.map((b) => [b.label, b.width]),
    [
      ['clean', 1000],
      ['A-C500', 1000],
      ['C-beta0.2', 1000],
    ],
  );
  const csv = readFileSync(r.files.csv, 'utf8').trim().split('\n');
  assert.equal(csv.length, runs + 1, 'a header and one row per run');
  assert.match(csv[0]!, /^runKey,regime,label,budget,width,/);
  assert.ok(
    csv.slice(1).every((l) => l.includes('"test, ""quoted"""')),
    'fields with commas and quotes are quoted',
  );
  const md = readFileSync(r.files.summary, 'utf8');
  assert.match(md, /\| regime \| m = 10 \| m = 100 \| m = 1000 \| m = 10000 \|/);
  assert.match(md, /\| clean \| \d+\.\d\d ± \d+\.\d\d \(2\) \|/);
  assert.match(md, /\| A-C500 \| 1000 \|/);
  const svg = readFileSync(r.files.svg, 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /width m \(log scale\)/);
  for (const label of ['clean', 'A-C500', 'C-beta0.2'])
    assert.ok(svg.includes(label), `legend names ${label}`);
  const png = readFileSync(r.files.png);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  assert.ok(width >= 600 && height >= 300, `plausible size ${width} x ${height}`);
  assert.ok(statSync(r.files.png).size > 10_000, 'the PNG has content');
  const html = readFileSync(r.files.html, 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /<th>m = 10000<\/th>/);
  // Batches of 64 are not the paper's protocol: no figure beside it.
  assert.equal(r.paper, undefined);
  assert.ok(!svg.includes('paper (read by eye)') && !md.includes('The paper beside it'));
});

test("on the paper's protocol the report draws the figure dashed, and its text says it is read by eye", async () => {
  const training = { lr: 0.1, batchSize: 128, maxEpochs: 2, patience: 1 };
  const r = await writeReport(syntheticSweep({ training }).dir);
  assert.deepEqual(r.paper?.drawn, ['clean', 'A-C500'], "C-beta0.2 is not at the figure's beta = 0.3");
  assert.deepEqual(r.paper?.lines, [
    'Shows a cut: 300 training images, 2 runs per width, 4 widths, 10 to 10,000.',
    "Cannot show the paper's U (60,000 images, 100 runs per width, widths to 100,000).",
    "Dashed: the paper's figure, read by eye; not comparable with this cut's numbers.",
  ]);
  const svg = readFileSync(r.files.svg, 'utf8');
  assert.match(svg, /paper_marks/);
  assert.ok(svg.includes('paper (read by eye)'), 'the legend entry');
  assert.ok(svg.includes('Shows a cut: 300 training images'), 'the subtitle');
  const md = readFileSync(r.files.summary, 'utf8');
  assert.match(
    md,
    /## The paper beside it\n\nThe dashed curves are the paper's MNIST figure, read by eye from its PNG/,
  );
  assert.match(md, /: clean, A-C500\. Not in the figure at these budgets: C-beta0\.2\./);
  const html = readFileSync(r.files.html, 'utf8');
  assert.match(
    html,
    /<p class="paper"><strong>The paper beside it\.<\/strong> The dashed curves are the paper's MNIST/,
  );
  assert.match(html, /read by eye/);
});

test('a folder without a sweep is a one-line error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-report-'));
  await assert.rejects(
    writeReport(dir),
    (e: Error) => e instanceof PoisonlabError && /no sweep database here/.test(e.message),
  );
});
