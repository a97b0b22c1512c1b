/**
 * The theory overlay of a sweep with `theory` settings, computed once per sweep as a task (in a worker, like the
 * surrogate) and stored in runs.sqlite: gamma is estimated on the clean training set (../theory/margin.ts), then
 * ../theory/bounds.ts gives, per regime, m >= c / gamma^8 and the largest width the regime's budget allows
 * (A: c n / (gamma^4 S^2), B: largest m tolerating B, C: largest m tolerating beta). The report only reads it.
 */
import { type ExperimentConfig, regimeLabel } from '../config/schema.js';
import { type DatasetSplit, numSamples, sampleSize } from '../data/dataset.js';
import type { RegimeWindow, TheoryOverlay } from '../results/index.js';
import { theoryBounds } from '../theory/bounds.js';
import { estimateMargin } from '../theory/margin.js';
import { check } from '../util/errors.js';

/** gamma of the clean training set and each regime's window (pure apart from the margin estimate). */
export function computeTheoryOverlay(
  config: ExperimentConfig,
  hash: string,
  { train }: DatasetSplit,
): TheoryOverlay {
  const t = config.theory;
  check(t, `config ${config.name}: has no 'theory' settings`);
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
