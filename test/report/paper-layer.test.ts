/**
 * The paper's figure beside poisonlab's width curves: which sweeps and arms get it (./paper-match.ts), the
 * dashed layer in the shared Vega-Lite spec, and the lines that say what a plot shows and cannot show.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../../src/config/schema.js';
import { getPreset } from '../../src/experiments/presets.js';
import { PAPER_MNIST_FIGURE } from '../../src/report/paper-figure.js';
import { PAPER_LAYER_NAME, PAPER_LEGEND } from '../../src/report/paper-layer.js';
import { figureRegimeOf, followsPaperProtocol, paperCurvesFor } from '../../src/report/paper-match.js';
import { comparePaper, paperNoteLines, paperParagraph } from '../../src/report/paper-note.js';
import { renderSvg, ucurveSpec } from '../../src/report/plot.js';
import type { CellStats } from '../../src/results/index.js';
import { smallConfig } from '../experiments/fixtures/small-config.js';

const PART = fileURLToPath(new URL('../../configs/paper-mnist-part.yaml', import.meta.url));

function cells(labels: readonly string[], widths: readonly number[]): CellStats[] {
  return labels.flatMap((label, i) =>
    widths.map((width) => {
      const mean = 0.9 - 0.05 * i;
      return { label, regime: label.split('-')[0]!, width, n: 2, mean, std: 0.01, min: mean, max: mean };
    }),
  );
}

interface Layer {
  name?: string;
  data?: { values: { regime: string; width: number; mean: number; figure: string }[] };
  mark: { type: string } | string;
  encoding: Record<string, unknown> & { strokeDash?: { datum: string; scale: { range: number[][] } } };
}

const layersOf = (spec: unknown) => (spec as { layer: Layer[] }).layer;
const paperOf = (spec: unknown) => layersOf(spec).find((l) => l.name === PAPER_LAYER_NAME);

test('the paper protocol: the reproduction presets and paper-mnist-part follow it, the others do not', () => {
  for (const name of ['quick', 'laptop-mnist', 'paper-mnist'])
    assert.ok(followsPaperProtocol(getPreset(name)), name);
  assert.ok(followsPaperProtocol(loadConfigFile(PART)), 'configs/paper-mnist-part.yaml');
  for (const name of [
    'paper-cifar10',
    'theory-mnist',
    'theory-toy',
    'samplesize-quick',
    'backdoor-mnist-quick',
  ])
    assert.ok(!followsPaperProtocol(getPreset(name)), name);
  // The small test config trains in batches of 64: not the paper's protocol.
  assert.ok(!followsPaperProtocol(smallConfig()));
});

test("an arm matches the figure's curve only at the figure's own budget", () => {
  const paper = getPreset('paper-mnist');
  assert.deepEqual(
    ['clean', 'A-C500', 'B-B1', 'C-beta0.3'].map((l) => figureRegimeOf(paper, l)),
    ['clean', 'A', 'B', 'C'],
  );
  const quick = getPreset('quick');
  assert.deepEqual(
    ['clean', 'A-C500', 'B-B3', 'badnets'].map((l) => figureRegimeOf(quick, l)),
    ['clean', 'A', undefined, undefined],
  );
  const part = loadConfigFile(PART);
  assert.deepEqual(
    paperCurvesFor(part, ['clean', 'C-beta0.3']).map((c) => [c.series, c.regime]),
    [
      ['clean', 'clean'],
      ['C-beta0.3', 'C'],
    ],
  );
  // The same arms off the protocol (batch 64) get nothing.
  assert.deepEqual(paperCurvesFor(smallConfig(), ['clean', 'A-C500']), []);
});

test("the spec draws the figure's matching curves dashed, in their series' colour, with one legend entry", async () => {
  const quick = getPreset('quick');
  const cs = cells(['clean', 'A-C500', 'B-B3'], quick.widths);
  const curves = paperCurvesFor(
    quick,
    cs.map((c) => c.label),
  );
  const spec = ucurveSpec(cs, 'quick', { paper: curves });
  const layer = paperOf(spec);
  assert.ok(layer, 'a paper layer');
  const values = layer.data!.values;
  assert.deepEqual([...new Set(values.map((v) => v.regime))], ['clean', 'A-C500'], 'no curve for B-B3');
  assert.equal(values.length, 2 * PAPER_MNIST_FIGURE.widths.length);
  // In the plots' unit (fractions), at the figure's widths.
  const a = values.filter((v) => v.regime === 'A-C500');
  assert.deepEqual(
    a.map((v) => v.width),
    [...PAPER_MNIST_FIGURE.widths],
  );
  assert.ok(Math.abs(a[0]!.mean - 0.764) < 1e-12 && Math.abs(a[10]!.mean - 0.894) < 1e-12);
  assert.equal(layer.encoding.strokeDash!.datum, PAPER_LEGEND);
  assert.deepEqual(layer.encoding.strokeDash!.scale.range, [[6, 4]]);
  const line = layersOf(spec).find((l) => typeof l.mark === 'object' && l.mark.type === 'line' && !l.name)!;
  assert.deepEqual(layer.encoding['color'], line.encoding['color'], "the series' own colour scale");

  const svg = await renderSvg(spec);
  assert.match(svg, /class="mark-line role-mark paper_marks"/);
  assert.match(svg, /stroke-dasharray="6,4"/);
  assert.ok(svg.includes(PAPER_LEGEND), 'the legend names it');

  // No matching arm, or no curves given: no layer.
  assert.equal(paperOf(ucurveSpec(cs, 'quick')), undefined);
  assert.equal(paperOf(ucurveSpec(cs, 'quick', { paper: [] })), undefined);
});

test('a cut says what it shows and what it cannot; the whole set says its runs', () => {
  const quick = getPreset('quick');
  const cut = comparePaper(quick, quick.widths);
  assert.deepEqual(cut, {
    images: 3000,
    runsPerWidth: 2,
    widths: { min: 10, max: 10000, count: 3 },
    cut: true,
  });
  assert.deepEqual(paperNoteLines(cut), [
    'Shows a cut: 3,000 training images, 2 runs per width, 3 widths, 10 to 10,000.',
    "Cannot show the paper's U (60,000 images, 100 runs per width, widths to 100,000).",
    "Dashed: the paper's figure, read by eye; not comparable with this cut's numbers.",
  ]);
  const part = loadConfigFile(PART);
  const whole = comparePaper(part, part.widths);
  assert.equal(whole.cut, false);
  assert.deepEqual(paperNoteLines(whole), [
    'All 60,000 training images, 1 run per width (the paper: 100), 4 widths, 10 to 100,000.',
    "Dashed: the paper's figure, read by eye (about ±0.3 points).",
  ]);
  const text = paperParagraph(quick, cut);
  assert.match(text, /^The dashed curves are the paper's MNIST figure, read by eye from its PNG/);
  assert.match(
    text,
    /run at the figure's own budgets \(clean, A at C = 500, B at B = 1, C at beta = 0\.3\): clean, A-C500\./,
  );
  assert.match(text, /Not in the figure at these budgets: B-B3\./);
  assert.match(
    text,
    /Cannot show the paper's U .*\. This cut's numbers are not comparable with the figure's\.$/,
  );
});
