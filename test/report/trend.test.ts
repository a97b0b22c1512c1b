/** The width trend of a metric per arm by the two-standard-error rule: extremum, rise, fall or flat. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { widthTrend } from '../../src/report/trend.js';
import type { CellStats } from '../../src/results/index.js';

/** Cells of one arm: mean and std per width, n runs each. */
function cells(points: [number, number, number][], n = 4, label = 'x'): CellStats[] {
  return points.map(
    ([width, mean, std]) => ({ label, width, mean, std, n, min: mean, max: mean }) as CellStats,
  );
}
const f = (v: number) => v.toFixed(2);

test('an interior maximum or minimum needs 2 SE against both edges', () => {
  // SE of a difference with std 0.1, n 4: sqrt(2 * 0.01 / 4) = 0.0707; 0.2 / 0.0707 = 2.8 SE
  const up = widthTrend(
    'x',
    cells([
      [10, 0.5, 0.1],
      [100, 0.7, 0.1],
      [1000, 0.5, 0.1],
    ]),
    f,
  )!;
  assert.equal(up.shape, 'interior maximum');
  assert.equal(up.width, 100);
  assert.ok(up.decided);
  assert.match(up.line, /x: interior maximum at m = 100: \+0\.20 ± 0\.07 against m = 10 \(2\.8 SE\)/);
  const down = widthTrend(
    'x',
    cells([
      [10, 0.5, 0.1],
      [100, 0.3, 0.1],
      [1000, 0.5, 0.1],
    ]),
    f,
  )!;
  assert.equal(down.shape, 'interior minimum');
  // 1.4 SE on one side: no extremum; the edges do not differ: flat, which decides nothing
  const weak = widthTrend(
    'x',
    cells([
      [10, 0.5, 0.1],
      [100, 0.6, 0.1],
      [1000, 0.5, 0.1],
    ]),
    f,
  )!;
  assert.equal(weak.shape, 'flat');
  assert.equal(weak.decided, false);
});

test('a rise or fall between the edges, and too few runs to count', () => {
  const rise = widthTrend(
    'x',
    cells([
      [10, 0.5, 0.1],
      [100, 0.6, 0.1],
      [1000, 0.7, 0.1],
    ]),
    f,
  )!;
  assert.equal(rise.shape, 'rises');
  assert.ok(rise.decided);
  assert.match(rise.line, /rises from m = 10 to m = 1000/);
  const fall = widthTrend(
    'x',
    cells([
      [10, 0.7, 0.1],
      [1000, 0.5, 0.1],
    ]),
    f,
  )!;
  assert.equal(fall.shape, 'falls');
  const two = widthTrend(
    'x',
    cells(
      [
        [10, 0.7, 0.1],
        [1000, 0.4, 0.1],
      ],
      2,
    ),
    f,
  )!;
  assert.equal(two.shape, 'falls');
  assert.equal(two.decided, false);
  assert.match(two.line, /only 2 run\(s\) per width, 3 needed: does not count/);
  // no spread and no difference (a success rate of 0 everywhere): flat
  const zero = widthTrend(
    'x',
    cells([
      [10, 0, 0],
      [100, 0, 0],
      [1000, 0, 0],
    ]),
    f,
  )!;
  assert.equal(zero.shape, 'flat');
  assert.equal(widthTrend('y', cells([[10, 0, 0]]), f), undefined);
});

test('one width is no trend', () => {
  const one = widthTrend('x', cells([[10, 0.6, 0]], 1), f)!;
  assert.equal(one.shape, 'flat');
  assert.equal(one.decided, false);
  assert.equal(one.line, 'x: one width only (m = 10), no trend; 1 run(s) per width');
});
