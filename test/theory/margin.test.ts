import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { estimateMargin } from '../../src/theory/margin.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/** n unit vectors in d dimensions, uniform on the sphere. */
function sphere(rng: Rng, n: number, d: number): Float32Array {
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      x[i * d + j] = rng.normal();
      s += x[i * d + j]! ** 2;
    }
    for (let j = 0; j < d; j++) x[i * d + j] = x[i * d + j]! / Math.sqrt(s);
  }
  return x;
}

/** Points labelled y = sign(w . x) with |w . x| >= g, w = e_1 (a linear rule with margin g). */
function linearlySeparable(rng: Rng, n: number, d: number, g: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  let kept = 0;
  while (kept < n) {
    const cand = sphere(rng, 1, d);
    if (Math.abs(cand[0]!) < g) continue;
    x.set(cand, kept * d);
    y[kept++] = cand[0]! > 0 ? 1 : 0;
  }
  return { x, y };
}

const fast = { samples: 128, evalSamples: 2000, iterations: 100, repeats: 2 };

describe('estimateMargin', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('finds at least about g/2 on data separated by a linear rule with margin g', () => {
    // The witness v(z) = w (constant, ||w|| = 1) gives, for every sample,
    // E_z[y <w, x 1[z . x >= 0]>] = |w . x| P(z . x >= 0) = |w . x| / 2 >= g / 2, so gamma >= g / 2.
    // With K fresh draws the same witness bounds the reported value below by
    // g * min_i (fraction of draws with z . x_i >= 0) ~ g (1/2 - 3 * 0.5 / sqrt(2000)) > 0.46 g;
    // the optimiser can only over-estimate. So >= 0.45 g is guaranteed up to a ~1e-4 chance.
    const g = 0.4;
    const { x, y } = linearlySeparable(new Rng(3), 150, 5, g);
    const est = estimateMargin(x, y, 5, { ...fast, seed: 1 });
    assert.ok(est.gamma >= 0.45 * g, `gamma ${est.gamma} < 0.45 g`);
    // p = a single sample gives F = P(z . x >= 0) = 1/2: gamma never exceeds 1/2 (+ Monte Carlo noise).
    assert.ok(est.gamma <= 0.52, `gamma ${est.gamma} > 1/2`);
    assert.equal(est.perRepeat.length, 2);
    assert.ok(est.spread >= 0 && est.spread < 0.05);
  });

  it('is about 0 when one point appears with both labels', () => {
    // p = 1/2 on each copy gives v(z) = 0 for every z: F = 0 exactly; mirror descent must find it among 60 points.
    const rng = new Rng(5);
    const d = 6;
    const x = new Float32Array(62 * d);
    x.set(sphere(rng, 60, d));
    const dup = sphere(rng, 1, d);
    x.set(dup, 60 * d);
    x.set(dup, 61 * d);
    const y = Int32Array.from({ length: 62 }, (_, i) => (i < 60 ? (x[i * d]! > 0 ? 1 : 0) : i - 60));
    const est = estimateMargin(x, y, d, { ...fast, seed: 2 });
    assert.ok(est.gamma < 0.05, `gamma ${est.gamma} >= 0.05`);
  });

  it('matches the exact value (1 + 1/sqrt 2) / 4 for two orthogonal points of opposite labels', () => {
    // v = p1 e1 1[z1 >= 0] - p2 e2 1[z2 >= 0]: E||v|| = (sqrt(p1^2 + p2^2) + p1 + p2) / 4, least at p = (1/2, 1/2).
    const est = estimateMargin(new Float32Array([1, 0, 0, 1]), [1, -1], 2, {
      samples: 512,
      evalSamples: 20000,
      iterations: 60,
      repeats: 1,
    });
    assert.ok(Math.abs(est.gamma - (1 + Math.SQRT1_2) / 4) < 0.01, `gamma ${est.gamma}`);
  });

  it('gives the same numbers for the same seed, other numbers for another, and ignores the scale of x', () => {
    const { x, y } = linearlySeparable(new Rng(7), 80, 4, 0.2);
    const opts = { samples: 64, evalSamples: 256, iterations: 30, repeats: 2 };
    const a = estimateMargin(x, y, 4, { ...opts, seed: 11 });
    const b = estimateMargin(x, y, 4, { ...opts, seed: 11 });
    const c = estimateMargin(x, y, 4, { ...opts, seed: 12 });
    assert.deepEqual(a.perRepeat, b.perRepeat);
    assert.notDeepEqual(a.perRepeat, c.perRepeat);
    const scaled = estimateMargin(
      x.map((v) => 4 * v),
      y,
      4,
      { ...opts, seed: 11 },
    );
    for (let r = 0; r < 2; r++) assert.ok(Math.abs(scaled.perRepeat[r]! - a.perRepeat[r]!) < 1e-4);
  });

  it('returns the minimising distribution on request', () => {
    const est = estimateMargin(new Float32Array([1, 0, 0, 1, 1, 0]), [1, 0, 0], 2, {
      samples: 64,
      iterations: 40,
      repeats: 1,
      returnDistribution: true,
    });
    // samples 0 and 2 are the same point with both labels: the distribution moves onto them.
    const p = est.p!;
    assert.equal(p.length, 3);
    assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-9);
    assert.ok(p[1]! < 0.05 && Math.abs(p[0]! - p[2]!) < 0.05, `p = ${[...p]}`);
  });

  it('rejects bad input with one-line errors', () => {
    const oneLine = (re: RegExp) => (e: unknown) =>
      e instanceof PoisonlabError && re.test(e.message) && !e.message.includes('\n');
    assert.throws(
      () => estimateMargin(new Float32Array(4), [0, 1], 2),
      oneLine(/^sample 0: cannot normalise a zero/),
    );
    assert.throws(
      () => estimateMargin(new Float32Array(6), [0, 1], 2),
      oneLine(/expected 2 x 2 = 4 input values/),
    );
    assert.throws(
      () => estimateMargin(new Float32Array([1, 0, 0, 1, 1, 1]), [0, 1, 2], 2),
      oneLine(/^labels: expected -1\/\+1 or classes 0\/1/),
    );
    assert.throws(
      () => estimateMargin(new Float32Array([1, 0]), [1], 2, { samples: 0 }),
      oneLine(/^samples/),
    );
  });
});
