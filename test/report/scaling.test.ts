/** The theory across budgets: each measured best width beside the k^2 prediction from the smallest budget. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradientRegimeOf } from '../../src/attacks/index.js';
import { scalingMarkdown, scalingRows } from '../../src/report/scaling.js';
import type { CellStats } from '../../src/results/index.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';

function cells(label: string, regime: string, means: [number, number][], n = 3): CellStats[] {
  return means.map(([width, mean]) => ({ label, regime, width, mean, std: 0.001, n, min: mean, max: mean }));
}

test('regime A from regimes, regime B from attack entries; a budget k times larger predicts a peak k^2 narrower', () => {
  const config = smallConfig({
    widths: [10, 1000, 5000, 20000],
    regimes: [
      { regime: 'A', budget: 500 },
      { regime: 'A', budget: 2000 },
      { regime: 'B', budget: 1, attack: 'shift' },
    ],
    attacks: [
      { name: 'per-sample-perturbation', label: 'B-B1', params: { budget: 1 } },
      { name: 'per-sample-perturbation', label: 'B-B3', params: { budget: 3 } },
      { name: 'badnets', params: { target: 1 } },
    ],
  });
  const all = [
    ...cells('A-C500', 'A', [
      [10, 0.9],
      [1000, 0.95],
      [5000, 0.97],
      [20000, 0.96],
    ]),
    ...cells('A-C2000', 'A', [
      [10, 0.8],
      [1000, 0.85],
      [5000, 0.82],
      [20000, 0.8],
    ]),
    ...cells('B-B1', 'per-sample-perturbation', [
      [10, 0.9],
      [1000, 0.95],
    ]),
    ...cells('B-B3', 'per-sample-perturbation', [
      [10, 0.6],
      [1000, 0.7],
    ]),
  ];
  const rows = scalingRows(config, all, gradientRegimeOf);
  assert.deepEqual(
    rows.map((r) => [r.label, r.bestWidth, r.status, r.predicted]),
    [
      ['A-C500', 5000, 'interior maximum', undefined],
      // four times C: 5000 / 16
      ['A-C2000', 1000, 'interior maximum', 312.5],
      ['B-B1', 1000, 'edge', undefined],
      ['B-B3', 1000, 'edge', 1000 * (1 / 3) ** 2],
    ],
  );
  const md = scalingMarkdown(rows);
  assert.match(
    md,
    /\| A \| A-C2000 \| 2000 \| 10, 1000, 5000, 20000 \| m = 1000 \(85\.00 %, 3 run\(s\)\) \| interior maximum \| m ~ 313 \(from A-C500\) \|/,
  );
  assert.match(md, /a bound on the peak/);
  // without the registry's answer the report knows only the config's `regimes`
  assert.deepEqual(
    scalingRows(config, all).map((r) => r.label),
    ['A-C500', 'A-C2000'],
  );
  // one budget per regime: nothing to compare
  assert.deepEqual(scalingRows(smallConfig({ regimes: [{ regime: 'A', budget: 500 }] }), all), []);
  assert.equal(scalingMarkdown([]), '');
});

test("the registry's gradient regimes: A and B by name or alias, not B's deterministic shift, C or the others", () => {
  assert.deepEqual(gradientRegimeOf('A'), { regime: 'A', name: 'l21-perturbation' });
  assert.deepEqual(gradientRegimeOf('l21'), { regime: 'A', name: 'l21-perturbation' });
  assert.deepEqual(gradientRegimeOf('per-sample'), { regime: 'B', name: 'per-sample-perturbation' });
  assert.deepEqual(gradientRegimeOf('B'), { regime: 'B', name: 'per-sample-perturbation' });
  for (const other of ['shift', 'C', 'label-flip', 'badnets', 'error-minimizing', 'nope'])
    assert.equal(gradientRegimeOf(other), undefined, other);
});
