/**
 * The theorem's width window beside a sweep's U-curve. gamma is estimated on the clean training set
 * (../theory/margin.ts), then ../theory/bounds.ts gives, per regime, m >= c / gamma^8 and the largest width the
 * regime's budget allows (A: c n / (gamma^4 S^2), B: largest m tolerating B, C: largest m tolerating beta).
 * The estimate is cached in the sweep folder as theory.json (keyed by the config hash).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../backend/index.js';
import { numSamples, sampleSize } from '../data/dataset.js';
import { loadDataset } from '../data/index.js';
import { type ExperimentConfig, regimeLabel } from '../experiments/config.js';
import { theoryBounds } from '../theory/bounds.js';
import { estimateMargin } from '../theory/margin.js';
import { writeFileAtomic } from '../util/atomic.js';
import { check } from '../util/errors.js';

/** The theorem's prediction for one regime of the sweep. */
export interface RegimeWindow {
  label: string;
  /** c / gamma^8. */
  widthMin: number;
  /** The regime's largest width (null: unbounded, e.g. clean data). */
  widthMax: number | null;
  windowEmpty: boolean;
  /** The theorem's bound on the average error for this regime (clean data: regime C's with beta = 0). */
  errorBound: number;
}

/** What the report states about the theory. */
export interface TheoryOverlay {
  configHash: string;
  gamma: number;
  /** Standard deviation of gamma over the margin estimate's repeats. */
  gammaSpread: number;
  n: number;
  d: number;
  delta: number;
  constant: number;
  widthMin: number;
  regimes: RegimeWindow[];
}

/** gamma of the clean training set and each regime's window (pure apart from the margin estimate). */
export async function computeTheoryOverlay(config: ExperimentConfig, hash: string): Promise<TheoryOverlay> {
  const t = config.theory;
  check(t, `config ${config.name}: has no 'theory' settings`);
  await initBackend({ quiet: true });
  const { train } = await loadDataset(config.dataset, {
    ...(config.limit !== undefined && { limit: config.limit }),
    ...(config.classes !== undefined && { classes: config.classes }),
    testLimit: 1,
  });
  check(train.classNames.length === 2, `theory: ${train.name} is not a binary task (set 'classes')`);
  const n = numSamples(train);
  const d = sampleSize(train);
  const m = estimateMargin(train.x, train.y, d, {
    ...(t.marginSamples !== undefined && { samples: t.marginSamples }),
  });
  const base = { n, d, gamma: m.gamma, delta: t.delta, constant: t.constant };
  const regimes = config.regimes.map((r): RegimeWindow => {
    const b =
      r.regime === 'clean'
        ? theoryBounds({ ...base, regime: 'C', beta: 0 })
        : r.regime === 'C'
          ? theoryBounds({ ...base, regime: 'C', beta: r.beta! })
          : theoryBounds({ ...base, regime: r.regime, budget: r.budget! });
    const max = b.widthMax ?? Number.POSITIVE_INFINITY;
    return {
      label: regimeLabel(r),
      widthMin: b.widthMin,
      widthMax: Number.isFinite(max) ? max : null,
      windowEmpty: b.windowEmpty ?? false,
      errorBound: b.errorBound,
    };
  });
  return {
    configHash: hash,
    gamma: m.gamma,
    gammaSpread: m.spread,
    n,
    d,
    delta: t.delta,
    constant: t.constant,
    widthMin: regimes[0]?.widthMin ?? 1 / m.gamma ** 8,
    regimes,
  };
}

/** The overlay of sweep folder `dir`: from theory.json when it belongs to this config, else computed and cached. */
export async function theoryOverlayFor(
  dir: string,
  config: ExperimentConfig,
  hash: string,
): Promise<TheoryOverlay> {
  const path = join(dir, 'theory.json');
  if (existsSync(path)) {
    try {
      const cached = JSON.parse(readFileSync(path, 'utf8')) as TheoryOverlay;
      if (cached.configHash === hash) return cached;
    } catch {
      // a damaged cache is recomputed
    }
  }
  const overlay = await computeTheoryOverlay(config, hash);
  writeFileAtomic(path, `${JSON.stringify(overlay, null, 2)}\n`);
  return overlay;
}

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
