import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { budgetSpent } from '../../src/attacks/perturbation-attack.js';
import { resolveSurrogatePath } from '../../src/attacks/pretrained.js';
import { describePaperAt, paperAccuracyAt, paperBestWidth } from '../../src/report/paper-figure.js';
import { poisonLabel, summarizePoisons } from '../../src/report/poisons.js';
import { describeInteriorMaximum, interiorMaximum } from '../../src/report/verdict.js';
import type { CellStats } from '../../src/results/index.js';
import { PoisonlabError } from '../../src/util/errors.js';

function cell(width: number, mean: number, std: number, n: number, label = 'A-C500'): CellStats {
  return { label, regime: 'A', width, n, mean, std, min: mean - std, max: mean + std };
}

test('interior maximum: seen only with >= 2 SE on both sides and >= 3 repetitions', () => {
  // best 0.90 at m = 1000; edges 0.80 and 0.85, std 0.02 with 4 runs: SE of a difference = 0.02 * sqrt(2/4)
  const u = [cell(10, 0.8, 0.02, 4), cell(1000, 0.9, 0.02, 4), cell(1e5, 0.85, 0.02, 4)];
  const v = interiorMaximum('A-C500', u)!;
  assert.equal(v.verdict, 'seen');
  assert.equal(v.bestWidth, 1000);
  assert.ok(Math.abs(v.left!.diff - 0.1) < 1e-12);
  assert.ok(Math.abs(v.left!.se - 0.02 * Math.sqrt(0.5)) < 1e-12);
  assert.ok(Math.abs(v.right!.z - 0.05 / (0.02 * Math.sqrt(0.5))) < 1e-9);
  assert.match(describeInteriorMaximum(v), /interior maximum seen at m = 1000/);

  // the same means with a large spread: under 2 SE on the right
  const noisy = [cell(10, 0.8, 0.02, 4), cell(1000, 0.9, 0.06, 4), cell(1e5, 0.85, 0.06, 4)];
  assert.equal(interiorMaximum('A-C500', noisy)!.verdict, 'not-significant');

  // two repetitions never count, however clear
  const two = [cell(10, 0.8, 0.001, 2), cell(1000, 0.9, 0.001, 2), cell(1e5, 0.85, 0.001, 2)];
  assert.equal(interiorMaximum('A-C500', two)!.verdict, 'too-few-reps');

  // a rising curve: the best width is the widest
  const rising = [cell(10, 0.8, 0.01, 5), cell(1000, 0.85, 0.01, 5), cell(1e5, 0.9, 0.01, 5)];
  const r = interiorMaximum('A-C500', rising)!;
  assert.equal(r.verdict, 'edge');
  assert.equal(r.bestWidth, 1e5);
  assert.match(describeInteriorMaximum(r), /no interior maximum/);

  assert.equal(interiorMaximum('B-B1', rising), undefined);
});

test('outcomes: an interior maximum, none (every interior width >= 2 SE below an edge), or undecided with its power', () => {
  const u = [cell(10, 0.8, 0.02, 4), cell(1000, 0.9, 0.02, 4), cell(1e5, 0.85, 0.02, 4)];
  assert.equal(interiorMaximum('A-C500', u)!.outcome, 'interior maximum');
  assert.equal(interiorMaximum('A-C500', u)!.power, undefined);

  // rising, each interior width 5 SE or more below the widest: decided the other way
  const rising = [cell(10, 0.8, 0.01, 5), cell(1000, 0.85, 0.01, 5), cell(1e5, 0.9, 0.01, 5)];
  const r = interiorMaximum('A-C500', rising)!;
  assert.equal(r.outcome, 'no interior maximum');
  assert.match(describeInteriorMaximum(r), /no interior maximum \(>= 2 SE\)/);
  // the same with two repetitions: not decided, however clear
  const twice = rising.map((c) => ({ ...c, n: 2 }));
  assert.equal(interiorMaximum('A-C500', twice)!.outcome, 'undecided');

  // an interior best under 2 SE on its right: undecided, towards an interior maximum; its weaker side sizes the runs
  const noisy = [cell(10, 0.8, 0.02, 4), cell(1000, 0.9, 0.06, 4), cell(1e5, 0.85, 0.06, 4)];
  const n = interiorMaximum('A-C500', noisy)!;
  assert.equal(n.outcome, 'undecided');
  assert.equal(n.power!.towards, 'interior maximum');
  assert.deepEqual([n.power!.width, n.power!.edge], [1000, 1e5]);
  // (2 + 0.8416)^2 (0.06^2 + 0.06^2) / 0.05^2 = 23.3
  assert.equal(n.power!.runsFor80, 24);
  // z = 0.05 / (0.06 sqrt(2/4)) = 1.18: Phi(1.18 - 2) = Phi(-0.82) = 0.206
  assert.ok(Math.abs(n.power!.powerNow! - 0.2061) < 1e-3);
  assert.match(
    describeInteriorMaximum(n),
    /undecided after 4 run\(s\) per width: towards interior maximum, m = 1000 against m = 100000, 21 % power now; about 24 runs per width/,
  );

  // an edge best, interior widths close to it: undecided, towards no interior maximum, the least clear width decides
  const flat = [
    cell(10, 0.8, 0.02, 3),
    cell(100, 0.88, 0.02, 3),
    cell(1000, 0.86, 0.02, 3),
    cell(1e5, 0.9, 0.02, 3),
  ];
  const f = interiorMaximum('A-C500', flat)!;
  assert.equal(f.outcome, 'undecided');
  assert.equal(f.power!.towards, 'no interior maximum');
  assert.deepEqual([f.power!.width, f.power!.edge], [100, 1e5]);

  // one run per point (a screen): no spread, so nothing to size more runs by
  const once = [cell(10, 0.8, 0, 1), cell(1000, 0.9, 0, 1), cell(1e5, 0.85, 0, 1)];
  const o = interiorMaximum('A-C500', once)!;
  assert.equal(o.outcome, 'undecided');
  assert.equal(o.power!.runsFor80, undefined);
  assert.match(describeInteriorMaximum(o), /no spread to size more runs by/);
});

test("paper's figure: read-off values at plotted widths, log interpolation between, nothing outside", () => {
  assert.equal(paperAccuracyAt('A', 2e4), 89.4);
  assert.equal(paperAccuracyAt('B', 1e5), 83.2);
  assert.equal(paperAccuracyAt('clean', 10), 98.4);
  // halfway in log between 1e4 (87.7) and 2e4 (89.4)
  assert.ok(Math.abs(paperAccuracyAt('A', Math.sqrt(2e8))! - (87.7 + 89.4) / 2) < 1e-9);
  assert.equal(paperAccuracyAt('A', 5), undefined);
  assert.equal(paperAccuracyAt('A', 2e5), undefined);
  assert.equal(paperAccuracyAt('badnets', 100), undefined);
  assert.equal(paperBestWidth('A'), 2e4);
  assert.equal(paperBestWidth('B'), 2e4);
  assert.match(
    describePaperAt('A', [10, 1000, 20000])!,
    /76\.4 \/ 83\.0 \/ 89\.4 % at m = 10 \/ 1000 \/ 20000/,
  );
});

test('budget spent: A divides the l2,1 sum by C sqrt(n), B the mean norm by B', () => {
  assert.equal(budgetSpent('A', 50, 100, 200), 0.25);
  assert.equal(budgetSpent('B', 50, 100, 1), 0.5);
});

test('poison summary groups repetitions per regime and keeps reports without budgetSpent', () => {
  assert.equal(poisonLabel('A-C500-r12'), 'A-C500');
  assert.equal(poisonLabel('A-C500-n1000-r2'), 'A-C500');
  const rec = (key: string, report: unknown) => ({
    poisonKey: key,
    path: `${key}.npz`,
    report,
    finishedAt: '',
  });
  const stats = summarizePoisons([
    rec('A-C500-r0', { deltaNormSum: 10, deltaNormMax: 2, labelsFlipped: 0, budgetSpent: 0.2, seconds: 1 }),
    rec('A-C500-r1', { deltaNormSum: 20, deltaNormMax: 4, labelsFlipped: 0, budgetSpent: 0.4, seconds: 3 }),
    rec('C-beta0.3-r0', { deltaNormSum: 0, deltaNormMax: 0, labelsFlipped: 30, seconds: 0.1 }),
  ]);
  assert.equal(stats.length, 2);
  const a = stats.find((s) => s.label === 'A-C500')!;
  assert.equal(a.count, 2);
  assert.ok(Math.abs(a.budgetSpent!.mean - 0.3) < 1e-12);
  assert.equal(a.budgetSpent!.min, 0.2);
  assert.equal(a.deltaNormSum, 15);
  const c = stats.find((s) => s.label === 'C-beta0.3')!;
  assert.equal(c.budgetSpent, undefined);
  assert.equal(c.labelsFlipped, 30);
});

test('paper:mnist resolves through $POISONLAB_PAPER_SURROGATE; a missing file or unknown name is one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'poisonlab-pretrained-'));
  mkdirSync(join(dir, 'x'));
  const file = join(dir, 'x', 'ntkconv100_baseline.pth');
  writeFileSync(file, 'x');
  const saved = process.env['POISONLAB_PAPER_SURROGATE'];
  try {
    assert.equal(resolveSurrogatePath('plain/path.npz'), 'plain/path.npz');
    process.env['POISONLAB_PAPER_SURROGATE'] = file;
    assert.equal(resolveSurrogatePath('paper:mnist'), file);
    process.env['POISONLAB_PAPER_SURROGATE'] = join(dir, 'nope.pth');
    assert.throws(
      () => resolveSurrogatePath('paper:mnist'),
      (e: unknown) =>
        e instanceof PoisonlabError && /POISONLAB_PAPER_SURROGATE.*does not exist/.test(e.message),
    );
    assert.throws(
      () => resolveSurrogatePath('paper:imagenet'),
      (e: unknown) =>
        e instanceof PoisonlabError && /unknown paper surrogate 'paper:imagenet'/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env['POISONLAB_PAPER_SURROGATE'];
    else process.env['POISONLAB_PAPER_SURROGATE'] = saved;
  }
});
