/** The sample-size experiment's figure and table: excess test loss and error against n, one curve per C. */
import type * as vl from 'vega-lite';
import type { ExcessStats } from '../results/index.js';

/** Two side-by-side Vega-Lite charts: excess test loss and excess test error against n (log x), colour = C. */
export function samplesizeSpec(stats: readonly ExcessStats[], title: string): vl.TopLevelSpec {
  const values = stats.map((s) => ({
    C: s.budget,
    n: s.size,
    loss: s.lossMean,
    lossLo: s.lossMean - s.lossStd,
    lossHi: s.lossMean + s.lossStd,
    error: s.errorMean,
    errorLo: s.errorMean - s.errorStd,
    errorHi: s.errorMean + s.errorStd,
    runs: s.n,
  }));
  const x = {
    field: 'n',
    type: 'quantitative',
    scale: { type: 'log' },
    title: 'training samples n (log scale)',
  } as const;
  const color = { field: 'C', type: 'ordinal', title: 'C (S = C√n)', scale: { scheme: 'viridis' } } as const;
  const panel = (field: 'loss' | 'error', title: string) => ({
    width: 360,
    height: 280,
    layer: [
      {
        mark: { type: 'errorband', opacity: 0.15 },
        encoding: {
          x,
          y: { field: `${field}Lo`, type: 'quantitative', title: null },
          y2: { field: `${field}Hi` },
          color,
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field, type: 'quantitative', title },
          color,
          tooltip: [{ field: 'C' }, { field: 'n' }, { field, format: '.4f' }, { field: 'runs' }],
        },
      },
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values },
    hconcat: [
      panel('loss', 'excess test loss (poisoned − clean)'),
      panel('error', 'excess test error (poisoned − clean)'),
    ],
    config: { font: 'DejaVu Sans', legend: { symbolOpacity: 1 } },
  } as vl.TopLevelSpec;
}

/** Markdown: one row per C, one column per n, cells `excess loss / excess error (%)` as mean ± std. */
export function samplesizeMarkdown(stats: readonly ExcessStats[]): string {
  const sizes = [...new Set(stats.map((s) => s.size))].sort((a, b) => a - b);
  const budgets = [...new Set(stats.map((s) => s.budget))].sort((a, b) => a - b);
  const by = new Map(stats.map((s) => [`${s.budget}|${s.size}`, s]));
  const table = (pick: (s: ExcessStats) => string) => [
    `| C | ${sizes.map((n) => `n = ${n}`).join(' | ')} |`,
    `|---:|${sizes.map(() => '---:').join('|')}|`,
    ...budgets.map((c) => {
      const cells = sizes.map((n) => {
        const s = by.get(`${c}|${n}`);
        return s ? pick(s) : '–';
      });
      return `| ${c} | ${cells.join(' | ')} |`;
    }),
  ];
  return [
    '## Sample size: regime A, excess over clean (same seed)',
    '',
    'Excess test error in percentage points (poisoned minus clean), mean ± std (runs):',
    '',
    ...table((s) => `${(100 * s.errorMean).toFixed(2)} ± ${(100 * s.errorStd).toFixed(2)} (${s.n})`),
    '',
    'Excess test loss (poisoned minus clean), mean ± std:',
    '',
    ...table((s) => `${s.lossMean.toFixed(4)} ± ${s.lossStd.toFixed(4)}`),
    '',
  ].join('\n');
}
