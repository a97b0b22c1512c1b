/**
 * The theorem's width window beside a sweep's U-curve, drawn from the overlay the sweep computed and stored
 * (../experiments/theory-task.ts): gamma of the clean training set and, per regime, m >= c / gamma^8 and the
 * largest width the regime's budget allows. Nothing here loads data or computes the estimate.
 */
import type { TheoryOverlay } from '../results/index.js';

const fmtW = (v: number | null) =>
  v === null
    ? 'unbounded'
    : v === 0
      ? '0'
      : v >= 1e5 || v < 1e-2
        ? v.toExponential(2)
        : String(Number(v.toPrecision(4)));

/** One line per regime: `clean: m >= 1845 (no upper end)`, `C-beta0.4: 1845 <= m <= 1.04e5`, `... EMPTY`. */
export function windowLines(o: TheoryOverlay): string[] {
  return o.regimes.map((r) => {
    if (r.windowEmpty) return `${r.label}: empty (m >= ${fmtW(r.widthMin)} but m <= ${fmtW(r.widthMax)})`;
    return r.widthMax === null
      ? `${r.label}: m >= ${fmtW(r.widthMin)} (no upper end)`
      : `${r.label}: ${fmtW(r.widthMin)} <= m <= ${fmtW(r.widthMax)}`;
  });
}

/** summary.md's theory section (Markdown). */
export function theoryMarkdown(o: TheoryOverlay): string {
  return [
    '## The theory beside it',
    '',
    `Margin gamma = ${o.gamma.toFixed(4)} ± ${o.gammaSpread.toFixed(4)} (estimateMargin on the clean training set, ` +
      `n = ${o.n}, d = ${o.d}); delta = ${o.delta}, every ~O(.) read as ${o.constant} x (expression).`,
    `Predicted smallest width c / gamma^8 = ${fmtW(o.widthMin)} (the shaded band of the plot).`,
    '',
    '| regime | width window of the theorem | error bound |',
    '|---|---|---:|',
    ...o.regimes.map(
      (r, i) =>
        `| ${r.label} | ${windowLines(o)[i]!.slice(r.label.length + 2)} | ${r.errorBound.toPrecision(3)} |`,
    ),
    '',
  ].join('\n');
}

/**
 * Vega-Lite layers drawing the window on a log-width plot whose data spans [lo, hi]: a shaded band from
 * max(widthMin, lo) to hi with a rule and label at widthMin, and a dashed rule at each regime's finite upper end.
 * Ends outside [lo, hi] are not drawn (the axis would stretch to them); the band's label says so.
 */
export function theoryLayers(o: TheoryOverlay, lo: number, hi: number): unknown[] {
  const layers: unknown[] = [];
  const inRange = (v: number) => v >= lo && v <= hi;
  const minLabel = `theory: m ≥ 1/γ⁸ = ${fmtW(o.widthMin)} (γ = ${o.gamma.toFixed(3)})`;
  if (o.widthMin <= hi) {
    const from = Math.max(o.widthMin, lo);
    layers.push({
      data: { values: [{ width: from, width2: hi }] },
      mark: { type: 'rect', color: '#7a7a7a', opacity: 0.12 },
      encoding: {
        x: { field: 'width', type: 'quantitative', scale: { type: 'log' } },
        x2: { field: 'width2' },
      },
    });
  }
  const rules: { width: number; text: string; dash: boolean }[] = [];
  if (inRange(o.widthMin)) rules.push({ width: o.widthMin, text: minLabel, dash: false });
  for (const r of o.regimes)
    if (r.widthMax !== null && !r.windowEmpty && inRange(r.widthMax))
      rules.push({ width: r.widthMax, text: `${r.label}: m ≤ ${fmtW(r.widthMax)}`, dash: true });
  if (rules.length > 0) {
    layers.push({
      data: { values: rules },
      mark: { type: 'rule', color: '#444', strokeDash: [6, 4] },
      encoding: { x: { field: 'width', type: 'quantitative', scale: { type: 'log' } } },
    });
    layers.push({
      data: { values: rules.map((r, i) => ({ ...r, row: 12 + 14 * i })) },
      mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#333' },
      encoding: {
        x: { field: 'width', type: 'quantitative', scale: { type: 'log' } },
        y: { field: 'row', type: 'quantitative', scale: null },
        text: { field: 'text' },
      },
    });
  }
  return layers;
}

/** The subtitle of the plot, one line per regime: gamma and the window, including parts off the plotted range. */
export function theorySubtitle(o: TheoryOverlay): string[] {
  return [
    `theory: γ = ${o.gamma.toFixed(3)}, δ = ${o.delta}, constants ${o.constant}; width window per regime:`,
    ...windowLines(o),
  ];
}
