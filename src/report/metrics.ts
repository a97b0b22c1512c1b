/**
 * The named metrics of a sweep in the report: any metric against width (`metric-<name>.svg/png`), and the
 * backdoor tables: attack-success rate per (arm, width) and the defences' removals, precision and recall.
 */
import { join } from 'node:path';
import { aggregate, type CellStats, compareLabels, metricNames, type RunRecord } from '../results/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { check } from '../util/errors.js';
import { multiplicityMarkdown, type TrendTest } from './multiplicity.js';
import { renderSvg, svgToPng, ucurveSpec } from './plot.js';
import { widthTrend } from './trend.js';

/**
 * The metrics plotted by default: the backdoor and defence ones that some run holds a value of (a transforming
 * defence's precision and recall are null in every run: nothing to plot).
 */
export function defaultMetricPlots(runs: readonly RunRecord[]): string[] {
  const have = new Set(metricNames(runs));
  return [
    'poisonCost',
    'attackSuccessRate',
    'robustAccuracy',
    'targetSuccessRate',
    'targetMargin',
    'targetMarginGain',
    'stripDetectionRate',
    'stripFalsePositiveRate',
    'ncTargetFound',
    'defencePrecision',
    'defenceRecall',
    'defenceEffectivenessRating',
  ].filter((m) => have.has(m) && aggregate(runs, m).length > 0);
}

const TITLES: Record<string, string> = {
  poisonCost: 'clean test accuracy lost to the poison: clean twin minus run',
  attackSuccessRate: 'attack-success rate (triggered non-target test images -> target)',
  robustAccuracy: 'robust accuracy (triggered non-target test images -> their true class)',
  targetSuccessRate: 'target success rate (targets classified as the adversarial class)',
  targetMargin: "targets' adversarial margin, log p_adv - log max_(j != adv) p_j (nats)",
  targetMarginGain: "the poison's pull: target margin minus the clean twin's (nats)",
  stripDetectionRate: "STRIP's detection rate (triggered non-target test images flagged)",
  stripFalsePositiveRate: "STRIP's false-positive rate (clean test images flagged)",
  ncTargetFound: "Neural Cleanse flags the backdoor's target class (1) or not (0)",
  defencePrecision: 'defence precision (poisoned among removed)',
  defenceRecall: 'defence recall (removed among poisoned)',
  defenceRemoved: 'samples removed by the defence',
  defenceEffectivenessRating:
    "BackdoorBench's DER: [max(0, dASR) - max(0, dAcc) + 1] / 2 against the undefended twin",
};

/** Plot `metric` against width, one line per arm: `metric-<name>.svg` and `.png` in `dir`. */
export async function writeMetricPlot(
  dir: string,
  runs: readonly RunRecord[],
  metric: string,
  title: string,
): Promise<{ svg: string; png: string; cells: CellStats[] }> {
  check(/^[A-Za-z0-9._-]+$/.test(metric), `--metric: '${metric}' is not a metric name`);
  const cells = aggregate(runs, metric);
  check(
    cells.length > 0,
    `--metric: no run holds '${metric}', expected one of ${metricNames(runs).join(', ')}`,
  );
  const rate = cells.every((c) => c.min >= 0 && c.max <= 1) && metric !== 'defenceRemoved';
  const svg = await renderSvg(
    ucurveSpec(cells, `${title}: ${metric}`, {
      yTitle: TITLES[metric] ?? metric,
      yFormat: rate ? '.0%' : '~s',
    }),
  );
  const files = { svg: join(dir, `metric-${metric}.svg`), png: join(dir, `metric-${metric}.png`) };
  writeFileAtomic(files.svg, svg);
  writeFileAtomic(files.png, svgToPng(svg));
  return { ...files, cells };
}

const pct = (v: number) => (100 * v).toFixed(1);

function table(cells: readonly CellStats[], fmt: (c: CellStats) => string, first = 'arm'): string {
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const labels = [...new Set(cells.map((c) => c.label))].sort(compareLabels);
  const byKey = new Map(cells.map((c) => [`${c.label}|${c.width}`, c]));
  return [
    `| ${first} | ${widths.map((w) => `m = ${w}`).join(' | ')} |`,
    `|---|${widths.map(() => '---:').join('|')}|`,
    ...labels.map(
      (l) =>
        `| ${l} | ${widths
          .map((w) => {
            const c = byKey.get(`${l}|${w}`);
            return c ? fmt(c) : '–';
          })
          .join(' | ')} |`,
    ),
  ].join('\n');
}

const nats = (v: number) => v.toFixed(2);
const se = (c: CellStats) => (c.n > 1 ? c.std / Math.sqrt(c.n) : 0);

/**
 * The width trend (trend.ts) of every arm of one metric's cells, as markdown list items and a blank line; each
 * trend joins `family`, the report's tests (multiplicity.ts).
 */
function trendLines(
  cells: readonly CellStats[],
  format: (v: number) => string,
  unit: string,
  metric: string,
  family: TrendTest[],
): string[] {
  const labels = [...new Set(cells.map((c) => c.label))].sort(compareLabels);
  return [
    'Width trend per arm (two-standard-error rule, at least 3 runs per width to count):',
    '',
    ...labels.flatMap((l) => {
      const t = widthTrend(l, cells, format, unit);
      if (t) family.push({ metric, trend: t });
      return t ? [`- ${t.line}`] : [];
    }),
    '',
  ];
}

/**
 * One named metric's section, empty when no run holds it: its heading and text, the arm-by-width table of mean ±
 * spread (runs), then each arm's width trend (no heading: a paragraph under the one before). `spread` is the
 * standard error unless given.
 */
function metricSection(
  family: TrendTest[],
  runs: readonly RunRecord[],
  metric: string,
  heading: string,
  format: (v: number) => string,
  unit: string,
  text: string[],
  spread: (c: CellStats) => number = se,
): string[] {
  const cells = aggregate(runs, metric);
  if (cells.length === 0) return [];
  return [
    ...(heading ? [heading, ''] : []),
    ...text,
    '',
    table(cells, (c) => `${format(c.mean)} ± ${format(spread(c))} (${c.n})`),
    '',
    ...trendLines(cells, format, unit, metric, family),
  ];
}

/**
 * Markdown sections for the named metrics: clean test accuracy's width trend per arm (rise, fall or interior
 * extremum; the summary's verdicts test only the paper's interior maximum), then the backdoor, targeted and defence
 * tables where the runs hold their metrics.
 */
export function metricsMarkdown(runs: readonly RunRecord[]): string {
  const out: string[] = [];
  const family: TrendTest[] = [];
  const accuracy = aggregate(runs);
  if (new Set(accuracy.map((c) => c.width)).size > 1)
    out.push(
      '## Width trend of clean test accuracy',
      '',
      ...trendLines(accuracy, pct, 'pts', 'testAccuracy', family),
    );
  out.push(
    ...metricSection(family, runs, 'poisonCost', '## Poison cost', pct, 'pts', [
      'The clean test accuracy each poisoned run lost against the clean run of the same width, repetition and',
      'fold (same initialisation and batch order, no poison), in points: mean ± standard error (runs). Its',
      "width trend is the width question asked of the poison's damage rather than of accuracy.",
    ]),
    ...metricSection(
      family,
      runs,
      'attackSuccessRate',
      '## Attack-success rate',
      pct,
      'pts',
      [
        'Fraction of triggered test images not of the target class that are classified as the target, in percent:',
        'mean ± std (runs). `+<defence>` rows trained on the set the defence left.',
      ],
      (c) => c.std,
    ),
    ...metricSection(family, runs, 'targetSuccessRate', '## Target success rate', pct, 'pts', [
      "Fraction of the targeted attacks' target test images classified as their adversarial class, in percent:",
      'mean ± standard error (runs; each repetition has its own targets, so the spread is over targets).',
    ]),
    ...metricSection(family, runs, 'targetMargin', '## Target margin', nats, 'nats', [
      'The continuous version of target success: log p_adv - log max_(j != adv) p_j on each target, in nats',
      '(> 0: classified as the adversarial class); mean ± standard error (runs).',
    ]),
    // derived from targetMargin (results/clean-twin.ts), so it follows that section as a paragraph of it
    ...metricSection(family, runs, 'targetMarginGain', '', nats, 'nats', [
      "The poison's pull (`targetMarginGain`): each run's margin minus that of the clean run of the same width,",
      'repetition and fold on the same targets (same initialisation and batch order, no poison); > 0: the',
      'poison moved its targets towards the adversarial class. Mean ± standard error (runs):',
    ]),
  );
  const removed = aggregate(runs, 'defenceRemoved');
  if (removed.length > 0) {
    const prec = new Map(aggregate(runs, 'defencePrecision').map((c) => [`${c.label}|${c.width}`, c]));
    const rec = new Map(aggregate(runs, 'defenceRecall').map((c) => [`${c.label}|${c.width}`, c]));
    const f = (m: Map<string, CellStats>, c: CellStats) => {
      const v = m.get(`${c.label}|${c.width}`);
      return v ? pct(v.mean) : '–';
    };
    out.push(
      '## Defences',
      '',
      'Per cell: samples removed, then precision / recall of the removal against the poison mask, in percent',
      '(means over runs; – where undefined: nothing removed, or an input-transforming defence).',
      '',
      table(removed, (c) => `${Math.round(c.mean)}: ${f(prec, c)} / ${f(rec, c)}`),
      '',
    );
  }
  out.push(...multiplicityMarkdown(family));
  return out.length ? `\n${out.join('\n')}` : '';
}
