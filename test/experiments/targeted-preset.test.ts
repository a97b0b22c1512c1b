/** The targeted preset of issue 21 validates against the registries and keeps its stated size; its report metric. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getPreset } from '../../src/experiments/presets.js';
import { defaultMetricPlots, metricsMarkdown } from '../../src/report/metrics.js';
import type { RunRecord } from '../../src/results/index.js';

test('targeted-mnist-quick: gradient matching and Bullseye Polytope across widths 10 .. 2e4, several targets', () => {
  const c = getPreset('targeted-mnist-quick');
  assert.deepEqual(
    c.attacks!.map((a) => a.name),
    ['gradient-matching', 'bullseye-polytope'],
  );
  assert.deepEqual(c.widths, [10, 100, 1000, 20000]);
  assert.equal(c.limit, 2000);
  assert.equal(c.repetitions, 20);
  for (const a of c.attacks!) assert.equal((a.params as { budget: number }).budget, 0.01);
});

test('the report plots and tables the target success rate with its standard error over targets', () => {
  const runs: RunRecord[] = [];
  for (const [width, hits] of [
    [10, [1, 0, 0]],
    [100, [1, 1, 0]],
    [1000, [0, 0, 0]],
  ] as const)
    hits.forEach((h, repetition) => {
      runs.push({
        label: 'gm',
        width,
        repetition,
        fold: 0,
        testAccuracy: 0.9,
        metrics: { testAccuracy: 0.9, targetSuccessRate: h, targetCount: 1 },
      } as unknown as RunRecord);
    });
  assert.deepEqual(defaultMetricPlots(runs), ['targetSuccessRate']);
  const md = metricsMarkdown(runs);
  assert.match(md, /## Target success rate/);
  // m = 100: mean 2/3, std 0.577, standard error 0.333
  assert.match(md, /66\.7 ± 33\.3 \(3\)/);
  assert.match(md, /- gm: /);
});
