import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  l21Threshold,
  projectL2BallPerSample,
  projectL2BallTensor,
  projectL21Ball,
  projectL21BallTensor,
  rowNormsOf,
} from '../../src/attacks/projection.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

await tf.setBackend('cpu');

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

/** A random n x d set of perturbations; some rows are exactly 0, scales vary over 3 decades. */
function randomDeltas(rng: Rng, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < 0.15) continue;
    const scale = 10 ** (3 * rng.uniform() - 1.5);
    for (let k = 0; k < d; k++) out[i * d + k] = scale * rng.normal();
  }
  return out;
}

/** Reference tau: bisection (to 1e-12 relative) on tau -> sum_i (r_i - tau)_+ = R, which is decreasing. */
function bisectTau(norms: Float64Array, radius: number): number {
  if (sum(norms) <= radius) return 0;
  let lo = 0;
  let hi = Math.max(...norms);
  for (let it = 0; it < 200 && hi - lo > 1e-12 * Math.max(1, hi); it++) {
    const mid = (lo + hi) / 2;
    const s = sum(Array.from(norms, (r) => Math.max(r - mid, 0)));
    if (s > radius) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

test('l2,1 threshold equals a bisection reference on 500 random cases', () => {
  const rng = new Rng(7);
  for (let c = 0; c < 500; c++) {
    const n = 1 + rng.int(30);
    const norms = Float64Array.from({ length: n }, () => (rng.uniform() < 0.1 ? 0 : 10 * rng.uniform()));
    const radius = rng.uniform() * sum(norms) * 1.2;
    const tau = l21Threshold(norms, radius);
    const ref = bisectTau(norms, radius);
    assert.ok(Math.abs(tau - ref) <= 1e-9 * Math.max(1, ref), `case ${c}: tau ${tau} vs bisection ${ref}`);
    const shrunk = sum(Array.from(norms, (r) => Math.max(r - tau, 0)));
    if (sum(norms) > radius) assert.ok(Math.abs(shrunk - radius) <= 1e-9 * Math.max(1, radius), `case ${c}`);
  }
});

test('l2,1 projection: inside the ball, rows keep direction, rows at or under tau are exactly 0', () => {
  const rng = new Rng(11);
  for (let c = 0; c < 200; c++) {
    const n = 1 + rng.int(25);
    const d = 1 + rng.int(6);
    const deltas = randomDeltas(rng, n, d);
    const norms = rowNormsOf(deltas, d);
    const radius = rng.uniform() * sum(norms);
    const { deltas: p, tau } = projectL21Ball(deltas, d, radius);
    const pn = rowNormsOf(p, d);
    assert.ok(sum(pn) <= radius * (1 + 1e-6) + 1e-12, `case ${c}: sum ${sum(pn)} > radius ${radius}`);
    for (let i = 0; i < n; i++) {
      if (norms[i]! <= tau) {
        for (let k = 0; k < d; k++) assert.equal(p[i * d + k], 0, `case ${c} row ${i} should be exactly 0`);
      } else {
        const s = (norms[i]! - tau) / norms[i]!;
        for (let k = 0; k < d; k++) {
          const want = deltas[i * d + k]! * s;
          assert.ok(Math.abs(p[i * d + k]! - want) <= 1e-6 * Math.abs(deltas[i * d + k]!) + 1e-30);
        }
      }
    }
  }
});

test('l2,1 projection is the nearest point of the ball (beats 200 random feasible points)', () => {
  const rng = new Rng(5);
  const n = 12;
  const d = 3;
  const v = randomDeltas(rng, n, d);
  const radius = 0.3 * sum(rowNormsOf(v, d));
  const p = projectL21Ball(v, d, radius).deltas;
  const dist = (a: Float32Array) => Math.sqrt(sum(Array.from(a, (e, k) => (e - v[k]!) ** 2)));
  const best = dist(p);
  for (let t = 0; t < 200; t++) {
    // A random point of the ball: random directions, random norms summing to <= radius.
    const q = randomDeltas(rng, n, d);
    const s = sum(rowNormsOf(q, d));
    const scale = s === 0 ? 0 : (radius * rng.uniform()) / s;
    const feasible = Float32Array.from(q, (e) => e * scale);
    // Mix in the projection itself so some candidates are close to it.
    const w = rng.uniform();
    const cand = Float32Array.from(feasible, (e, k) => w * e + (1 - w) * p[k]!);
    assert.ok(best <= dist(cand) + 1e-5, `candidate ${t} is closer: ${dist(cand)} < ${best}`);
  }
});

test('l2,1 projection leaves a point inside the ball unchanged; radius 0 gives all zeros', () => {
  const rng = new Rng(3);
  const v = randomDeltas(rng, 10, 4);
  const s = sum(rowNormsOf(v, 4));
  const inside = projectL21Ball(v, 4, s * 1.01);
  assert.equal(inside.tau, 0);
  assert.deepEqual(inside.deltas, v);
  assert.ok(projectL21Ball(v, 4, 0).deltas.every((e) => e === 0));
});

test('the tensor l2,1 projection matches the float64 one', () => {
  const rng = new Rng(9);
  for (let c = 0; c < 30; c++) {
    const n = 1 + rng.int(40);
    const d = 1 + rng.int(8);
    const v = randomDeltas(rng, n, d);
    const radius = rng.uniform() * 1.2 * sum(rowNormsOf(v, d));
    const want = projectL21Ball(v, d, radius).deltas;
    const t = tf.tensor(v, [n, d]);
    const got = projectL21BallTensor(t, radius);
    const g = got.dataSync() as Float32Array;
    t.dispose();
    got.dispose();
    const scale = Math.max(...Array.from(v, Math.abs));
    for (let k = 0; k < g.length; k++)
      assert.ok(Math.abs(g[k]! - want[k]!) <= 1e-5 * scale, `case ${c} entry ${k}`);
  }
});

test('per-sample l2 projection: every norm <= B, short rows unchanged, same direction (array and tensor)', () => {
  const rng = new Rng(13);
  const n = 40;
  const d = 5;
  const v = randomDeltas(rng, n, d);
  const B = 0.5;
  const p = projectL2BallPerSample(v, d, B);
  const t = tf.tensor(v, [n, 1, d]);
  const pt = projectL2BallTensor(t, B);
  const q = pt.dataSync() as Float32Array;
  t.dispose();
  pt.dispose();
  const norms = rowNormsOf(v, d);
  const pn = rowNormsOf(p, d);
  for (let i = 0; i < n; i++) {
    assert.ok(pn[i]! <= B * (1 + 1e-6));
    if (norms[i]! <= B) for (let k = 0; k < d; k++) assert.equal(p[i * d + k], v[i * d + k]);
    else assert.ok(Math.abs(pn[i]! - B) <= 1e-6);
    for (let k = 0; k < d; k++) {
      assert.ok(Math.abs(q[i * d + k]! - p[i * d + k]!) <= 1e-6 * Math.max(1, Math.abs(v[i * d + k]!)));
      assert.ok(p[i * d + k]! * v[i * d + k]! >= 0);
    }
  }
});

test('projections reject a negative radius with a one-line error', () => {
  const v = new Float32Array(4);
  for (const f of [() => projectL21Ball(v, 2, -1), () => projectL2BallPerSample(v, 2, -0.5)]) {
    assert.throws(
      f,
      (e: unknown) => e instanceof PoisonlabError && !e.message.includes('\n') && /radius/.test(e.message),
    );
  }
});
