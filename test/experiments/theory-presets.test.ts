import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig, regimeLabel } from '../../src/config/schema.js';
import { gaussianToySplit } from '../../src/data/toy.js';
import { planPoisons, planRuns } from '../../src/experiments/plan.js';
import { getPreset } from '../../src/experiments/presets.js';
import { shiftAttack } from '../../src/experiments/shift-attack.js';
import type { RunRecord } from '../../src/results/index.js';
import { aggregateExcess, excessRecords, runSize, runSizes } from '../../src/results/index.js';

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

test('the theory presets validate and carry the original settings', () => {
  const toy = getPreset('theory-toy');
  assert.equal(toy.dataset, 'toy');
  assert.equal(toy.model, 'twolayer');
  assert.equal(toy.training.batchSize, 1);
  assert.equal(toy.training.maxEpochs, 1);
  assert.equal(toy.training.lr, 0.1);
  assert.equal(toy.folds, undefined, 'no validation split');
  assert.ok(toy.widths.includes(10) && Math.max(...toy.widths) >= 1e4);
  assert.deepEqual(toy.regimes.map(regimeLabel), ['clean', 'B-shift0.975', 'C-beta0.4']);
  assert.deepEqual(toy.theory, { delta: 0.05, constant: 1 });
  const mnist = getPreset('theory-mnist');
  assert.ok(Math.max(...mnist.widths) >= 16384);
  assert.equal(mnist.surrogate?.model, 'twolayer');
  assert.deepEqual(
    mnist.regimes.map((r) => r.regime),
    ['clean', 'A', 'B', 'C'],
  );
  for (const name of ['samplesize-mnist', 'samplesize-quick']) {
    const s = getPreset(name);
    assert.deepEqual(
      s.regimes.map((r) => r.budget ?? 0),
      [0, 50, 100, 200, 300, 400, 500],
    );
    assert.ok(s.sizes && s.sizes[0] === 500);
  }
  assert.equal(Math.max(...getPreset('samplesize-mnist').sizes!), 60000);
});

test('the schema: shift only for regime B, sizes within the limit, gradient attacks need settings', () => {
  const base = { ...getPreset('theory-toy') } as Record<string, unknown>;
  assert.match(
    errorOf(() => parseConfig({ ...base, regimes: [{ regime: 'C', beta: 0.1, attack: 'shift' }] })),
    /regimes\.0\.attack: regime C takes no attack method/,
  );
  assert.match(
    errorOf(() => parseConfig({ ...base, regimes: [{ regime: 'A', budget: 5 }] })),
    /attack: regimes A and B need attack settings/,
  );
  assert.match(
    errorOf(() => parseConfig({ ...base, limit: 800, sizes: [500, 1000] })),
    /sizes\.1: size 1000 exceeds the training limit 800/,
  );
  assert.match(
    errorOf(() => parseConfig({ ...base, folds: { k: 1, run: [1] } })),
    /fold 1 is outside \[0, 1\)/,
  );
  assert.equal(parseConfig({ ...base, folds: { k: 1, run: [0] } }).folds?.k, 1);
});

test('the shift attack moves every toy point by exactly B towards the other class and keeps labels', () => {
  const { train } = gaussianToySplit({ trainSize: 200 });
  const { dataset, deltaNorm, report } = shiftAttack(train, 0.975);
  assert.deepEqual(dataset.y, train.y);
  assert.equal(report.deltaNormMax, 0.975);
  assert.equal(report.labelsFlipped, 0);
  for (let i = 0; i < 200; i++) {
    const dx = dataset.x[2 * i]! - train.x[2 * i]!;
    const dy = dataset.x[2 * i + 1]! - train.x[2 * i + 1]!;
    assert.ok(Math.abs(Math.hypot(dx, dy) - 0.975) < 1e-5, `sample ${i} moved ${Math.hypot(dx, dy)}`);
    assert.ok(Math.abs(deltaNorm[i]! - 0.975) < 1e-6);
    // Class 1 (centre (+5, 0)) moves left, class 0 moves right, almost exactly along the first axis.
    const towards = train.y[i] === 1 ? -dx : dx;
    assert.ok(towards > 0.97, `sample ${i}: moved ${dx}, ${dy} for class ${train.y[i]}`);
  }
  assert.match(
    errorOf(() => shiftAttack({ ...train, classNames: ['a', 'b', 'c'] }, 1)),
    /expected a binary task/,
  );
});

test('a sample-size config plans runs and poisons per (regime, size, repetition)', () => {
  const c = parseConfig({
    ...getPreset('samplesize-quick'),
    sizes: [500, 1000],
    repetitions: 2,
    regimes: [{ regime: 'clean' }, { regime: 'A', budget: 50 }, { regime: 'A', budget: 100 }],
  });
  const runs = planRuns(c);
  assert.equal(runs.length, 3 * 2 * 2); // regimes x sizes x repetitions (one width, no folds)
  assert.ok(runs.some((r) => r.key === 'A-C50/n1000/w1000/r1/f0' && r.size === 1000 && r.seed === 1));
  assert.equal(new Set(runs.map((r) => r.key)).size, runs.length);
  const poisons = planPoisons(c, runs);
  assert.deepEqual(
    poisons.map((p) => `${p.key}:${p.size}`),
    [
      'A-C50-n500-r0:500',
      'A-C50-n1000-r0:1000',
      'A-C50-n500-r1:500',
      'A-C50-n1000-r1:1000',
      'A-C100-n500-r0:500',
      'A-C100-n1000-r0:1000',
      'A-C100-n500-r1:500',
      'A-C100-n1000-r1:1000',
    ],
  );
  // Width sweeps keep their keys.
  assert.equal(planRuns(getPreset('quick'))[0]!.key, 'clean/w10/r0/f0');
  // results reads n back from the key the plan wrote (the report needs no plan).
  for (const r of planRuns(c)) assert.equal(runSize(r.key), r.size, r.key);
  for (const r of planRuns(getPreset('quick'))) assert.equal(runSize(r.key), undefined, r.key);
  assert.equal(
    runSizes(planRuns(c).map((r) => ({ runKey: r.key }) as RunRecord)).get('clean/n500/w1000/r0/f0'),
    500,
  );
});

test('excess loss and error: poisoned minus the clean run of the same size and seed', () => {
  const rec = (
    runKey: string,
    regime: string,
    budget: number | null,
    rep: number,
    acc: number,
    loss: number,
  ) =>
    ({
      runKey,
      regime,
      label: regime === 'clean' ? 'clean' : `A-C${budget}`,
      budget,
      width: 1000,
      repetition: rep,
      fold: 0,
      testAccuracy: acc,
      testLoss: loss,
    }) as RunRecord;
  const runs = [
    rec('clean/n500/w1000/r0/f0', 'clean', null, 0, 0.9, 0.3),
    rec('clean/n500/w1000/r1/f0', 'clean', null, 1, 0.8, 0.5),
    rec('clean/n1000/w1000/r0/f0', 'clean', null, 0, 0.95, 0.2),
    rec('A-C50/n500/w1000/r0/f0', 'A', 50, 0, 0.7, 0.6),
    rec('A-C50/n500/w1000/r1/f0', 'A', 50, 1, 0.7, 0.9),
    rec('A-C50/n1000/w1000/r0/f0', 'A', 50, 0, 0.9, 0.25),
    rec('A-C50/n2000/w1000/r0/f0', 'A', 50, 0, 0.5, 1), // no clean twin: left out
  ];
  const sizes = new Map(runs.map((r) => [r.runKey, Number(/\/n(\d+)\//.exec(r.runKey)![1])]));
  const ex = excessRecords(runs, sizes);
  assert.equal(ex.length, 6);
  const a = ex.find((e) => e.label === 'A-C50' && e.size === 500 && e.repetition === 1)!;
  assert.ok(Math.abs(a.excessError - 0.1) < 1e-12 && Math.abs(a.excessLoss - 0.4) < 1e-12);
  const stats = aggregateExcess(ex);
  assert.deepEqual(
    stats.map((s) => `${s.budget}|${s.size}|${s.n}`),
    ['0|500|2', '0|1000|1', '50|500|2', '50|1000|1'],
  );
  const s500 = stats[2]!;
  assert.ok(Math.abs(s500.errorMean - 0.15) < 1e-12); // (0.2 + 0.1) / 2
  assert.ok(Math.abs(s500.lossMean - 0.35) < 1e-12); // (0.3 + 0.4) / 2
  assert.ok(Math.abs(s500.errorStd - Math.SQRT1_2 * 0.1) < 1e-12);
  assert.equal(stats[0]!.errorMean, 0);
});
