/** The small linear algebra the defences need, in float64 on the CPU: class rows, centring, top directions, 2-means. */
import { Rng } from '../util/rng.js';

/** Rows `idx` of the row-major [n, d] matrix `f`, centred on their mean, as float64. */
export function centredRows(f: Float32Array, d: number, idx: readonly number[]): Float64Array {
  const k = idx.length;
  const out = new Float64Array(k * d);
  const mean = new Float64Array(d);
  for (const i of idx) for (let j = 0; j < d; j++) mean[j]! += f[i * d + j]! / k;
  idx.forEach((i, r) => {
    for (let j = 0; j < d; j++) out[r * d + j] = f[i * d + j]! - mean[j]!;
  });
  return out;
}

/**
 * The top `count` right singular vectors of the [k, d] matrix `a` (eigenvectors of a^T a), by power iteration
 * with deflation from a seeded start; each is a unit vector of length d.
 */
export function topDirections(
  a: Float64Array,
  k: number,
  d: number,
  count: number,
  seed = 0,
  iters = 100,
): Float64Array[] {
  const rng = new Rng(seed);
  const found: Float64Array[] = [];
  const av = new Float64Array(k);
  for (let c = 0; c < Math.min(count, d); c++) {
    let v = new Float64Array(d);
    for (let j = 0; j < d; j++) v[j] = rng.normal();
    for (let it = 0; it < iters; it++) {
      // v <- a^T a v, minus the directions already found
      for (let r = 0; r < k; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += a[r * d + j]! * v[j]!;
        av[r] = s;
      }
      const next = new Float64Array(d);
      for (let r = 0; r < k; r++) {
        const s = av[r]!;
        if (s !== 0) for (let j = 0; j < d; j++) next[j]! += s * a[r * d + j]!;
      }
      for (const u of found) {
        let dot = 0;
        for (let j = 0; j < d; j++) dot += next[j]! * u[j]!;
        for (let j = 0; j < d; j++) next[j]! -= dot * u[j]!;
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += next[j]! ** 2;
      norm = Math.sqrt(norm);
      if (norm === 0) break;
      for (let j = 0; j < d; j++) next[j]! /= norm;
      v = next;
    }
    found.push(v);
  }
  return found;
}

/** Project the [k, d] rows of `a` on `dirs`: a [k, dirs.length] matrix. */
export function projectRows(
  a: Float64Array,
  k: number,
  d: number,
  dirs: readonly Float64Array[],
): Float64Array {
  const p = dirs.length;
  const out = new Float64Array(k * p);
  for (let r = 0; r < k; r++)
    for (let c = 0; c < p; c++) {
      let s = 0;
      const u = dirs[c]!;
      for (let j = 0; j < d; j++) s += a[r * d + j]! * u[j]!;
      out[r * p + c] = s;
    }
  return out;
}

/**
 * 2-means (Lloyd) on the [k, p] rows of `a`, `restarts` seeded k-means++ starts, the lowest within-cluster sum
 * kept. Returns the cluster (0 or 1) of each row.
 */
export function twoMeans(a: Float64Array, k: number, p: number, seed = 0, restarts = 5): Uint8Array {
  const rng = new Rng(seed);
  let best = new Uint8Array(k);
  let bestCost = Number.POSITIVE_INFINITY;
  const dist = (r: number, c: Float64Array) => {
    let s = 0;
    for (let j = 0; j < p; j++) s += (a[r * p + j]! - c[j]!) ** 2;
    return s;
  };
  for (let t = 0; t < restarts && k >= 2; t++) {
    const first = rng.int(k);
    const c0 = a.slice(first * p, (first + 1) * p);
    // k-means++: the second centre with probability proportional to the squared distance.
    const w = new Float64Array(k);
    let total = 0;
    for (let r = 0; r < k; r++) total += w[r] = dist(r, c0);
    let pick = rng.uniform() * total;
    let second = k - 1;
    for (let r = 0; r < k; r++) {
      pick -= w[r]!;
      if (pick <= 0) {
        second = r;
        break;
      }
    }
    const centres = [c0, a.slice(second * p, (second + 1) * p)];
    const assign = new Uint8Array(k);
    for (let it = 0; it < 100; it++) {
      let moved = false;
      for (let r = 0; r < k; r++) {
        const c = dist(r, centres[0]!) <= dist(r, centres[1]!) ? 0 : 1;
        if (c !== assign[r]) moved = true;
        assign[r] = c;
      }
      const sums = [new Float64Array(p), new Float64Array(p)];
      const counts = [0, 0];
      for (let r = 0; r < k; r++) {
        const c = assign[r]!;
        counts[c]!++;
        for (let j = 0; j < p; j++) sums[c]![j]! += a[r * p + j]!;
      }
      for (const c of [0, 1])
        if (counts[c]! > 0) for (let j = 0; j < p; j++) centres[c]![j] = sums[c]![j]! / counts[c]!;
      if (!moved && it > 0) break;
    }
    let cost = 0;
    for (let r = 0; r < k; r++) cost += dist(r, centres[assign[r]!]!);
    if (cost < bestCost) {
      bestCost = cost;
      best = assign;
    }
  }
  return best;
}

/** Sample indices grouped by label. */
export function byClass(y: Int32Array, classes: number): number[][] {
  const out: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < y.length; i++) out[y[i]!]!.push(i);
  return out;
}
