/** Holm's step-down procedure over the report's width trends (src/report/multiplicity.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { holm, multiplicityMarkdown, type TrendTest, trendP } from '../../src/report/multiplicity.js';
import { widthTrend } from '../../src/report/trend.js';
import type { CellStats } from '../../src/results/index.js';

/**
 * A two-width arm whose widest width is `diff` above the narrowest, std 0.1 and n runs at each: the difference
 * has SE sqrt(2 * 0.01 / n), so z = diff / that.
 */
function rising(label: string, z: number, n = 4): TrendTest {
  const se = Math.sqrt((2 * 0.01) / n);
  const cells = [
    { label, width: 10, mean: 0.5, std: 0.1, n, min: 0, max: 1 },
    { label, width: 1000, mean: 0.5 + z * se, std: 0.1, n, min: 0, max: 1 },
  ] as CellStats[];
  return { metric: 'm', trend: widthTrend(label, cells, (v) => v.toFixed(3))! };
}

test("a trend's p is the two-sided normal p of its deciding difference", () => {
  assert.ok(Math.abs(trendP(rising('a', 2).trend) - 0.0455) < 1e-3);
  assert.ok(Math.abs(trendP(rising('a', 3).trend) - 0.0027) < 1e-4);
  assert.ok(trendP(rising('a', 0.5).trend) > 0.6);
});

test('Holm keeps in order of p while p <= alpha / (K - i + 1), and stops at the first that is not', () => {
  // p of z = 4, 3, 2.6, 2.1: 6.3e-5, 0.0027, 0.0093, 0.036; thresholds 0.0125, 0.0167, 0.025, 0.05
  const family = [rising('d', 2.1), rising('b', 3), rising('a', 4), rising('c', 2.6)];
  const r = holm(family);
  assert.deepEqual(
    r.map((t) => [t.trend.label, t.kept]),
    [
      ['a', true],
      ['b', true],
      ['c', true],
      ['d', true],
    ],
  );
  // three more tests make the thresholds stricter (0.05 / 7, / 6, / 5, / 4 ...): d's 0.036 > 0.0125 is not kept
  const five = holm([...family, rising('e', 0.3), rising('f', 0.2), rising('g', 0.1)]);
  assert.deepEqual(
    five.filter((t) => t.kept).map((t) => t.trend.label),
    ['a', 'b', 'c'],
  );
  // fewer than 3 runs per width: not a test that counts
  assert.equal(holm([rising('a', 4, 2), rising('b', 4)]).length, 1);
});

test('the section names what is kept and what reaches 2 SE but is dropped; none with under two tests', () => {
  const lines = multiplicityMarkdown([
    rising('a', 4),
    rising('b', 3),
    rising('c', 2.6),
    rising('d', 2.1),
    rising('e', 0.3),
    rising('f', 0.2),
    rising('g', 0.1),
  ]).join('\n');
  assert.match(lines, /^## Multiple comparisons$/m);
  assert.match(
    lines,
    /7 tests that count .*; 4 of them reach 2 SE, where chance alone would give about 0\.3/,
  );
  assert.match(lines, /keeps 3 and drops 1, which stay leads, not findings/);
  assert.match(
    lines,
    /Kept:\n\n- m, a: rises \(p = 6\.3e-5\)\n- m, b: rises \(p = 0\.003\)\n- m, c: rises \(p = 0\.009\)\n/,
  );
  assert.match(lines, /At 2 SE but dropped:\n\n- m, d: rises \(p = 0\.036\)\n/);
  assert.deepEqual(multiplicityMarkdown([rising('a', 4)]), []);
});
