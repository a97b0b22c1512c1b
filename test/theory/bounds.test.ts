import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  maxBetaForWidth,
  maxBudgetForWidth,
  maxWidthForBeta,
  maxWidthForBudget,
  theoryBounds,
} from '../../src/theory/bounds.js';
import { PoisonlabError } from '../../src/util/errors.js';

/** Relative closeness: the calculator and the formulas below must agree to rounding. */
function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, `${what}: missing`);
  assert.ok(
    Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

// The paper's bound and width window, written out again independently of src/theory/bounds.ts.
const L = Math.log;

describe('theoryBounds: regime A', () => {
  it('matches the written-out formulas without budget or width', () => {
    const n = 60000;
    const gamma = 0.1;
    const delta = 0.05;
    const b = theoryBounds({ regime: 'A', n, d: 784, gamma, delta });
    close(
      b.errorBound,
      (L(Math.sqrt(60000) / 4) ** 2 + L((24 * 60000) / 0.05)) / (Math.sqrt(60000) * 0.01),
      'A bound',
    );
    close(b.widthMin, 1e8, 'widthMin = 1/0.1^8');
    close(b.maxPerSample, 0.1 / 28, 'gamma/sqrt(784)');
    assert.equal(b.widthMax, undefined);
    assert.equal(b.windowEmpty, undefined);
    assert.equal(b.vacuous, b.errorBound >= 1);
  });

  it('gives widthMax = c n / (gamma^4 S^2), S = C sqrt(n), and the inverse for a width, with c = 3', () => {
    const b = theoryBounds({
      regime: 'A',
      n: 10000,
      d: 784,
      gamma: 0.5,
      delta: 0.1,
      budget: 0.2,
      width: 50,
      constant: 3,
    });
    const S = 0.2 * 100;
    close(b.S, S, 'S');
    close(b.widthMax, (3 * 10000) / (0.5 ** 4 * S * S), 'widthMax');
    close(b.widthMin, 3 / 0.5 ** 8, 'widthMin');
    assert.equal(b.windowEmpty, 3 / 0.5 ** 8 > (3 * 10000) / (0.5 ** 4 * S * S));
    // largest C with 50 <= 3 / (gamma^4 C^2)
    close(b.maxOverallBudget, Math.sqrt(3 / 50) / 0.25, 'maxOverallBudget');
    close(b.maxPerSample, (3 * 0.5) / 28, 'c gamma / sqrt(d)');
  });

  it('marks the window empty exactly when C > gamma^2', () => {
    const at = (C: number) =>
      theoryBounds({ regime: 'A', n: 5000, d: 10, gamma: 0.3, delta: 0.05, budget: C });
    assert.equal(at(0.08).windowEmpty, false); // 0.08 < 0.09
    assert.equal(at(0.1).windowEmpty, true);
    assert.equal(at(500).windowEmpty, true);
    assert.equal(at(0).widthMax, Number.POSITIVE_INFINITY);
    const cond = at(0.1).conditions.find((c) => c.name === 'S <= gamma^2 sqrt(n)');
    assert.equal(cond?.holds, false);
  });

  it('reports the width conditions and the per-sample perturbation check', () => {
    const b = theoryBounds({
      regime: 'A',
      n: 100,
      d: 4,
      gamma: 1,
      delta: 0.5,
      budget: 0.1,
      width: 10,
      maxPerturbation: 0.6,
    });
    // widthMin = 1, widthMax = 1 / 0.01 = 100
    assert.deepEqual(
      b.conditions.map((c) => [c.name, c.holds]),
      [
        ['window non-empty', true],
        ['width >= widthMin', true],
        ['width <= widthMax', true],
        ['per-sample perturbation <= c gamma / sqrt(d)', false], // 0.6 > 1/2
        ['S <= gamma^2 sqrt(n)', true],
      ],
    );
  });
});

describe('theoryBounds: regime B', () => {
  it('divides by n instead of sqrt(n) and gives the tolerated budget of a width', () => {
    const [n, d, gamma, delta, m] = [2000, 784, 0.2, 0.01, 1000];
    const b = theoryBounds({ regime: 'B', n, d, gamma, delta, width: m });
    close(b.errorBound, (L(Math.sqrt(n) / 4) ** 2 + L((24 * n) / delta)) / (n * gamma * gamma), 'B bound');
    const first = 1 / (Math.sqrt(m * d) + Math.sqrt(m * L(m / delta)));
    const second = gamma / (gamma + Math.sqrt(d) + Math.sqrt(L((m * n) / delta)));
    close(b.maxBudget, Math.min(first, second), 'maxBudget');
    close(
      theoryBounds({ regime: 'B', n, d, gamma, delta, width: m, constant: 7 }).maxBudget,
      7 * Math.min(first, second),
      'c x',
    );
  });

  it('inverts the tolerance: widthMax is where the tolerated budget falls to B', () => {
    const p = { n: 2000, d: 784, gamma: 0.2, delta: 0.01 };
    const B = 1e-3;
    const b = theoryBounds({ regime: 'B', ...p, budget: B });
    const m = b.widthMax!;
    assert.ok(m > 1 && Number.isFinite(m));
    close(maxBudgetForWidth(m, p), B, 'tolerance at widthMax');
    assert.ok(maxBudgetForWidth(m * 1.001, p) < B);
    assert.equal(maxWidthForBudget(1, p), 0); // even m = 1 does not tolerate B = 1
    assert.equal(theoryBounds({ regime: 'B', ...p, budget: 1 }).windowEmpty, true);
  });
});

describe('theoryBounds: regime C', () => {
  it('uses ln(16 n / delta) and the flip-rate formula', () => {
    const [n, gamma, delta, m] = [1000, 0.4, 0.05, 300];
    const b = theoryBounds({ regime: 'C', n, d: 2, gamma, delta, width: m, beta: 0.4 });
    close(
      b.errorBound,
      (L(Math.sqrt(n) / 4) ** 2 + L((16 * n) / delta)) / (Math.sqrt(n) * gamma ** 2),
      'C bound',
    );
    const ln = L(n / delta);
    const beta =
      (ln + L(n) ** 2) /
      ((Math.sqrt(ln) + gamma ** 3 * Math.sqrt(m) * (1 + gamma)) * gamma ** 2 * Math.sqrt(n));
    close(b.maxBeta, beta, 'maxBeta');
    close(
      theoryBounds({ regime: 'C', n, d: 2, gamma, delta, width: m, constant: 0.5 }).maxBeta,
      0.5 * beta,
      'c x',
    );
    assert.equal(
      b.conditions.find((c) => c.name === 'beta <= tolerated flip rate at width')?.holds,
      0.4 <= beta,
    );
  });

  it('widthMax is the width whose tolerated flip rate equals beta', () => {
    const p = { n: 1000, gamma: 0.4, delta: 0.05 };
    const m = maxWidthForBeta(0.4, p);
    close(maxBetaForWidth(m, p), 0.4, 'tolerance at widthMax');
    close(theoryBounds({ regime: 'C', d: 2, ...p, beta: 0.4 }).widthMax, m, 'widthMax');
    assert.equal(maxWidthForBeta(0, p), Number.POSITIVE_INFINITY);
  });
});

describe('theoryBounds: input validation', () => {
  const ok = { regime: 'A' as const, n: 100, d: 10, gamma: 0.5, delta: 0.05 };
  const cases: [string, object, RegExp][] = [
    ['n not an integer', { n: 10.5 }, /^n \(number of samples\): expected an integer, got 10.5$/],
    ['n below 1', { n: 0 }, /^n \(number of samples\): expected >= 1/],
    ['gamma 0', { gamma: 0 }, /^gamma \(margin\): expected 0 < gamma <= 1, got 0$/],
    ['gamma above 1', { gamma: 1.5 }, /gamma \(margin\)/],
    ['delta 1', { delta: 1 }, /^delta \(failure probability\): expected 0 < delta < 1, got 1$/],
    ['negative budget', { budget: -1 }, /^budget: expected >= 0, got -1$/],
    ['beta outside [0,1]', { regime: 'C', beta: 1.2 }, /^beta \(flip rate\): expected <= 1, got 1.2$/],
    ['beta in regime A', { beta: 0.1 }, /only regime C flips labels/],
    ['budget in regime C', { regime: 'C', budget: 1 }, /regime C takes a flip rate/],
    ['width 0', { width: 0 }, /^width: expected >= 1, got 0$/],
    ['width not an integer', { width: 2.5 }, /^width: expected an integer/],
    ['bad regime', { regime: 'D' }, /^regime: expected A, B or C, got 'D'$/],
    ['NaN d', { d: Number.NaN }, /^d \(input dimension\): expected a finite number/],
  ];
  for (const [name, patch, message] of cases) {
    it(`rejects ${name} with one line`, () => {
      assert.throws(
        () => theoryBounds({ ...ok, ...patch } as Parameters<typeof theoryBounds>[0]),
        (e: unknown) => e instanceof PoisonlabError && message.test(e.message) && !e.message.includes('\n'),
      );
    });
  }
});
