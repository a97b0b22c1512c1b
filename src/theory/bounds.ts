/**
 * The generalisation bounds of Wang, Mianjy, Arora (ICML 2021) for the two-layer ReLU network
 * f(x) = (1/sqrt(m)) sum_s a_s relu(w_s . x) trained by online SGD on n poisoned samples, as
 * numbers: the error bound, the window of widths m in which it holds, and what budget or flip
 * rate a given width tolerates.
 *
 * Convention: the theorem's ~O(.) hides constants and log factors. Here every ~O(.) is read as
 * `constant * (expression)` with the log factors dropped (constant 1 unless the caller sets it);
 * the error bounds themselves are explicit in the paper and carry no constant.
 */
import { check, checkNumber } from '../util/errors.js';

/** The paper's threat models: A = l2,1 overall budget, B = per-sample budget, C = label flips. */
export type TheoryRegime = 'A' | 'B' | 'C';

export interface TheoryInput {
  regime: TheoryRegime;
  /** Number of training samples (integer >= 1). */
  n: number;
  /** Input dimension (integer >= 1). */
  d: number;
  /** Separability margin in the NTK RKHS, 0 < gamma <= 1 (see ./margin.ts). */
  gamma: number;
  /** Failure probability over SGD, 0 < delta < 1. */
  delta: number;
  /** Regime A: C in S = C sqrt(n) (overall budget sum_i ||delta_i||). Regime B: the per-sample B. */
  budget?: number;
  /** Regime C: the label flip rate beta in [0, 1]. */
  beta?: number;
  /** A width m to check against the hypotheses (positive integer). */
  width?: number;
  /** The constant that every ~O(.) stands for (default 1). */
  constant?: number;
  /** Regime A: the largest per-sample perturbation max_i ||delta_i|| actually used, if known. */
  maxPerturbation?: number;
}

/** One hypothesis of the theorem and whether the inputs satisfy it (null: not decidable from them). */
export interface TheoryCondition {
  name: string;
  holds: boolean | null;
  detail: string;
}

export interface TheoryBounds {
  regime: TheoryRegime;
  n: number;
  d: number;
  gamma: number;
  delta: number;
  constant: number;
  /** The bound on the average test error; >= 1 means the bound says nothing. */
  errorBound: number;
  /** True when errorBound >= 1. */
  vacuous: boolean;
  /** Smallest width: c / gamma^8 (every regime). */
  widthMin: number;
  /**
   * Largest width (Infinity when nothing limits it). Regime A: c n / (gamma^4 S^2); regime B: the
   * largest m whose tolerated per-sample budget (maxBudgetForWidth) is still >= B; regime C: the
   * largest m whose tolerated flip rate (maxBetaForWidth) is still >= beta. Present only when the
   * budget (A, B) or beta (C) is given.
   */
  widthMax?: number;
  /** widthMin > widthMax: no width satisfies the hypotheses. Present with widthMax. */
  windowEmpty?: boolean;
  /** Regime A: the overall budget S = C sqrt(n). */
  S?: number;
  /** Regime A: the largest per-sample perturbation the theorem allows, c gamma / sqrt(d). */
  maxPerSample?: number;
  /** Regime A: the largest C (S = C sqrt(n)) that `width` tolerates (widthMax inverted); needs width. */
  maxOverallBudget?: number;
  /** Regime B: the largest per-sample budget B that `width` tolerates; needs width. */
  maxBudget?: number;
  /** Regime C: the largest flip rate beta that `width` tolerates; needs width. */
  maxBeta?: number;
  /** The hypotheses of the theorem for these inputs. */
  conditions: TheoryCondition[];
  /** The convention used, and warnings (vacuous bound, empty window). */
  notes: string[];
}

const ln = Math.log;

/**
 * The numerator shared by the bounds: ln^2(sqrt(n)/4) + ln(k n / delta), with k = 24 (regimes A
 * and B) or k = 16 (regime C).
 */
function boundNumerator(n: number, delta: number, k: number): number {
  return ln(Math.sqrt(n) / 4) ** 2 + ln((k * n) / delta);
}

/**
 * The error bound of the theorem:
 * - A: [ln^2(sqrt(n)/4) + ln(24 n / delta)] / (sqrt(n) gamma^2)
 * - B: [ln^2(sqrt(n)/4) + ln(24 n / delta)] / (n gamma^2)
 * - C: [ln^2(sqrt(n)/4) + ln(16 n / delta)] / (sqrt(n) gamma^2)
 */
export function errorBound(regime: TheoryRegime, n: number, gamma: number, delta: number): number {
  const g2 = gamma * gamma;
  if (regime === 'A') return boundNumerator(n, delta, 24) / (Math.sqrt(n) * g2);
  if (regime === 'B') return boundNumerator(n, delta, 24) / (n * g2);
  return boundNumerator(n, delta, 16) / (Math.sqrt(n) * g2);
}

/** Smallest width of every regime: m >= c / gamma^8. */
export function widthMinFor(gamma: number, constant = 1): number {
  return constant / gamma ** 8;
}

/**
 * Regime A's largest width m <= c n / (gamma^4 S^2) with S = C sqrt(n), i.e. c / (gamma^4 C^2)
 * (n cancels). Infinity when C = 0.
 */
export function widthMaxRegimeA(gamma: number, overallBudgetC: number, constant = 1): number {
  if (overallBudgetC === 0) return Number.POSITIVE_INFINITY;
  return constant / (gamma ** 4 * overallBudgetC * overallBudgetC);
}

/**
 * Regime A inverted: the largest C (S = C sqrt(n)) with width <= c / (gamma^4 C^2), i.e.
 * C = sqrt(c / width) / gamma^2.
 */
export function maxOverallBudgetForWidth(gamma: number, width: number, constant = 1): number {
  return Math.sqrt(constant / width) / (gamma * gamma);
}

/**
 * Regime B: the largest per-sample budget a width m tolerates,
 * c * min{ 1 / (sqrt(m d) + sqrt(m ln(m / delta))), gamma / (gamma + sqrt(d) + sqrt(ln(m n / delta))) }.
 * Both terms decrease in m.
 */
export function maxBudgetForWidth(
  width: number,
  p: { n: number; d: number; gamma: number; delta: number; constant?: number },
): number {
  const c = p.constant ?? 1;
  const m = width;
  const first = 1 / (Math.sqrt(m * p.d) + Math.sqrt(m * ln(m / p.delta)));
  const second = p.gamma / (p.gamma + Math.sqrt(p.d) + Math.sqrt(ln((m * p.n) / p.delta)));
  return c * Math.min(first, second);
}

/**
 * Regime C: the largest flip rate a width m tolerates,
 * c * (ln(n / delta) + ln^2 n) / ((sqrt(ln(n / delta)) + gamma^3 sqrt(m) (1 + gamma)) gamma^2 sqrt(n)).
 * Decreases in m; it may exceed 1 (then this hypothesis allows any beta).
 */
export function maxBetaForWidth(
  width: number,
  p: { n: number; gamma: number; delta: number; constant?: number },
): number {
  const c = p.constant ?? 1;
  const g = p.gamma;
  const L = ln(p.n / p.delta);
  const numerator = L + ln(p.n) ** 2;
  const denominator = (Math.sqrt(L) + g ** 3 * Math.sqrt(width) * (1 + g)) * g * g * Math.sqrt(p.n);
  return (c * numerator) / denominator;
}

/**
 * Regime C inverted: the largest m with maxBetaForWidth(m) >= beta. Solving for sqrt(m):
 * sqrt(m) = (c (L + ln^2 n) / (beta gamma^2 sqrt(n)) - sqrt(L)) / (gamma^3 (1 + gamma)), L = ln(n/delta).
 * Infinity when beta = 0; 0 when no width tolerates beta.
 */
export function maxWidthForBeta(
  beta: number,
  p: { n: number; gamma: number; delta: number; constant?: number },
): number {
  if (beta === 0) return Number.POSITIVE_INFINITY;
  const c = p.constant ?? 1;
  const g = p.gamma;
  const L = ln(p.n / p.delta);
  const root =
    ((c * (L + ln(p.n) ** 2)) / (beta * g * g * Math.sqrt(p.n)) - Math.sqrt(L)) / (g ** 3 * (1 + g));
  return root <= 0 ? 0 : root * root;
}

/**
 * Regime B inverted: the largest real m >= 1 with maxBudgetForWidth(m) >= B (found by bisection
 * on log m, as the tolerance decreases in m). Infinity when B = 0; 0 when even m = 1 does not
 * tolerate B.
 */
export function maxWidthForBudget(
  budget: number,
  p: { n: number; d: number; gamma: number; delta: number; constant?: number },
): number {
  if (budget === 0) return Number.POSITIVE_INFINITY;
  const ok = (m: number) => maxBudgetForWidth(m, p) >= budget;
  if (!ok(1)) return 0;
  let lo = 0; // log m that is ok
  let hi = 1;
  while (ok(Math.exp(hi))) {
    lo = hi;
    hi *= 2;
    if (hi > 700) return Number.POSITIVE_INFINITY;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (ok(Math.exp(mid))) lo = mid;
    else hi = mid;
  }
  return Math.exp(lo);
}

function validate(input: TheoryInput): void {
  check(
    input.regime === 'A' || input.regime === 'B' || input.regime === 'C',
    `regime: expected A, B or C, got '${input.regime}'`,
  );
  checkNumber(input.n, 'n (number of samples)', { min: 1, integer: true });
  checkNumber(input.d, 'd (input dimension)', { min: 1, integer: true });
  checkNumber(input.gamma, 'gamma (margin)');
  check(input.gamma > 0 && input.gamma <= 1, `gamma (margin): expected 0 < gamma <= 1, got ${input.gamma}`);
  checkNumber(input.delta, 'delta (failure probability)');
  check(
    input.delta > 0 && input.delta < 1,
    `delta (failure probability): expected 0 < delta < 1, got ${input.delta}`,
  );
  if (input.budget !== undefined) {
    checkNumber(input.budget, 'budget', { min: 0 });
    check(input.regime !== 'C', 'budget: regime C takes a flip rate (beta), not a budget');
  }
  if (input.beta !== undefined) {
    checkNumber(input.beta, 'beta (flip rate)', { min: 0, max: 1 });
    check(
      input.regime === 'C',
      `beta (flip rate): only regime C flips labels; regime ${input.regime} takes a budget`,
    );
  }
  if (input.width !== undefined) checkNumber(input.width, 'width', { min: 1, integer: true });
  if (input.maxPerturbation !== undefined) {
    checkNumber(input.maxPerturbation, 'maxPerturbation (largest ||delta_i||)', { min: 0 });
    check(
      input.regime === 'A',
      'maxPerturbation (largest ||delta_i||): only regime A checks it against gamma / sqrt(d)',
    );
  }
  if (input.constant !== undefined) {
    checkNumber(input.constant, 'constant');
    check(input.constant > 0, `constant: expected a positive number, got ${input.constant}`);
  }
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : 'infinity');

/** The theorem's error bound, width window and tolerances for one setting (a pure function). */
export function theoryBounds(input: TheoryInput): TheoryBounds {
  validate(input);
  const { regime, n, d, gamma, delta, budget, beta, width } = input;
  const c = input.constant ?? 1;
  const p = { n, d, gamma, delta, constant: c };
  const bound = errorBound(regime, n, gamma, delta);
  const widthMin = widthMinFor(gamma, c);
  const out: TheoryBounds = {
    regime,
    n,
    d,
    gamma,
    delta,
    constant: c,
    errorBound: bound,
    vacuous: bound >= 1,
    widthMin,
    conditions: [],
    notes: [
      `every ~O(.) of the theorem is read as ${c} x (expression) with log factors dropped; the error bound is the paper's explicit formula`,
      'the bound holds with probability >= 1 - delta over SGD, for the average error of the online iterates',
    ],
  };

  let widthMax: number | undefined;
  if (regime === 'A') {
    out.maxPerSample = (c * gamma) / Math.sqrt(d);
    if (budget !== undefined) {
      out.S = budget * Math.sqrt(n);
      widthMax = widthMaxRegimeA(gamma, budget, c);
    }
    if (width !== undefined) out.maxOverallBudget = maxOverallBudgetForWidth(gamma, width, c);
  } else if (regime === 'B') {
    if (budget !== undefined) {
      widthMax = maxWidthForBudget(budget, p);
      if (widthMax === 0)
        out.notes.push(
          `no width tolerates B = ${budget}: even m = 1 allows at most ${fmt(maxBudgetForWidth(1, p))}`,
        );
    }
    if (width !== undefined) out.maxBudget = maxBudgetForWidth(width, p);
  } else {
    if (beta !== undefined) widthMax = maxWidthForBeta(beta, p);
    if (width !== undefined) out.maxBeta = maxBetaForWidth(width, p);
  }
  if (widthMax !== undefined) {
    out.widthMax = widthMax;
    out.windowEmpty = widthMin > widthMax;
    if (out.windowEmpty) {
      out.notes.push(
        `the width window is empty: m >= ${fmt(widthMin)} and m <= ${fmt(widthMax)} cannot both hold`,
      );
    }
  }
  if (out.vacuous)
    out.notes.push(`the error bound ${fmt(bound)} is >= 1: it says nothing for these n and gamma`);

  // The hypotheses.
  const cond = out.conditions;
  if (widthMax !== undefined) {
    cond.push({
      name: 'window non-empty',
      holds: !out.windowEmpty,
      detail: `${fmt(widthMin)} <= m <= ${fmt(widthMax)}`,
    });
  }
  if (width !== undefined) {
    cond.push({
      name: 'width >= widthMin',
      holds: width >= widthMin,
      detail: `m = ${width} vs c/gamma^8 = ${fmt(widthMin)}`,
    });
    if (widthMax !== undefined) {
      cond.push({
        name: 'width <= widthMax',
        holds: width <= widthMax,
        detail: `m = ${width} vs ${fmt(widthMax)}`,
      });
    }
  }
  if (regime === 'A') {
    cond.push({
      name: 'per-sample perturbation <= c gamma / sqrt(d)',
      holds: input.maxPerturbation === undefined ? null : input.maxPerturbation <= out.maxPerSample!,
      detail:
        input.maxPerturbation === undefined
          ? `every ||delta_i|| must be <= ${fmt(out.maxPerSample!)} (the overall budget alone does not decide it)`
          : `max ||delta_i|| = ${fmt(input.maxPerturbation)} vs ${fmt(out.maxPerSample!)}`,
    });
    if (budget !== undefined) {
      // widthMin <= widthMax  <=>  S <= gamma^2 sqrt(n)  <=>  C <= gamma^2.
      cond.push({
        name: 'S <= gamma^2 sqrt(n)',
        holds: budget <= gamma * gamma,
        detail: `S = ${fmt(out.S!)} vs ${fmt(gamma * gamma * Math.sqrt(n))}`,
      });
    }
  }
  if (regime === 'B' && budget !== undefined && out.maxBudget !== undefined) {
    cond.push({
      name: 'B <= tolerated budget at width',
      holds: budget <= out.maxBudget,
      detail: `B = ${budget} vs ${fmt(out.maxBudget)}`,
    });
  }
  if (regime === 'C' && beta !== undefined && out.maxBeta !== undefined) {
    cond.push({
      name: 'beta <= tolerated flip rate at width',
      holds: beta <= out.maxBeta,
      detail: `beta = ${beta} vs ${fmt(out.maxBeta)}`,
    });
  }
  return out;
}
