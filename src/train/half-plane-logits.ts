/**
 * The logits of a bias-free two-layer ReLU net on 2-D inputs, f_k(x) = sum_s a_ks relu(w_s . x), at a fixed set of
 * points, in O(m + n) per call instead of O(m n): the original toy validates after every SGD step, and at m = 2e4
 * the direct sum costs 4e6 terms a step.
 *
 * Why it works: unit s contributes a_ks (w_s . x) exactly where w_s . x > 0, i.e. for the points whose direction
 * lies in the open half-circle of directions within 90 degrees of w_s. So
 *   f_k(x) = x . V_k(dir x),   V_k(u) = sum_{s: w_s . u > 0} a_ks w_s,
 * and with the points sorted by angle, each unit's half-circle is one contiguous (possibly wrapping) range of
 * them: add a_ks w_s at its start and subtract it at its end (a difference array), and one running sum over the
 * sorted points gives every V_k. A point exactly on a boundary gets w_s . x = 0 either way, so ties do not matter.
 */

/** Buckets of the angle lookup per point (more: shorter scans, more memory). */
const BUCKETS_PER_POINT = 8;

/**
 * A pseudo-angle of (x, y) in [0, 4): strictly increasing in the true angle atan2(y, x) taken in [0, 2 pi),
 * without a trigonometric call. NaN for (0, 0).
 */
export function pseudoAngle(x: number, y: number): number {
  const p = y / (Math.abs(x) + Math.abs(y));
  if (x >= 0) return y >= 0 ? p : 4 + p;
  return 2 - p;
}

/** The points of one set, sorted by direction, with a bucket table for `rank`. */
export interface SortedDirections {
  n: number;
  /** x and y of point i (the set's own order). */
  x0: Float64Array;
  x1: Float64Array;
  /** Pseudo-angles in increasing order, and the point each belongs to. */
  angle: Float64Array;
  point: Int32Array;
  /** first[b] = number of sorted angles below bucket b's lower edge. */
  first: Int32Array;
  buckets: number;
}

/** Sort the n points of `x` (row-major [n, 2]) by direction; points at the origin are left out (their logits are 0). */
export function sortDirections(x: Float32Array, n: number): SortedDirections {
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  const keep: number[] = [];
  const angles = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x0[i] = x[2 * i]!;
    x1[i] = x[2 * i + 1]!;
    if (x0[i] === 0 && x1[i] === 0) continue;
    angles[i] = pseudoAngle(x0[i]!, x1[i]!);
    keep.push(i);
  }
  keep.sort((a, b) => angles[a]! - angles[b]!);
  const point = Int32Array.from(keep);
  const angle = Float64Array.from(keep, (i) => angles[i]!);
  const buckets = Math.max(1, BUCKETS_PER_POINT * point.length);
  const first = new Int32Array(buckets);
  let r = 0;
  for (let b = 0; b < buckets; b++) {
    const edge = (4 * b) / buckets;
    while (r < angle.length && angle[r]! < edge) r++;
    first[b] = r;
  }
  return { n, x0, x1, angle, point, first, buckets };
}

/** Number of sorted angles below q. */
function rank(dirs: SortedDirections, q: number): number {
  const b = Math.min(dirs.buckets - 1, ((q * dirs.buckets) / 4) | 0); // q >= 0
  let r = dirs.first[b]!;
  const { angle } = dirs;
  while (r < angle.length && angle[r]! < q) r++;
  return r;
}

/**
 * Logits [K, n] (out[k * n + i]) of the net with first layer `w` (the tfjs kernel layout [2, m]: w[j * m + s])
 * and top layer `a` ([m, K]: a[s * K + k]) at the points of `dirs`. `diff` is scratch of at least 2K (p + 1)
 * values, p the number of sorted points.
 */
export function halfPlaneLogits(
  dirs: SortedDirections,
  w: Float32Array,
  a: Float32Array,
  m: number,
  k: number,
  out: Float64Array,
  diff: Float64Array,
): void {
  const p = dirs.angle.length;
  const width = 2 * k;
  diff.fill(0, 0, width * (p + 1));
  out.fill(0, 0, k * dirs.n);
  for (let s = 0; s < m; s++) {
    const w0 = w[s]!;
    const w1 = w[m + s]!;
    if (w0 === 0 && w1 === 0) continue;
    // The half-circle where w . u > 0 runs counter-clockwise from w turned by -90 degrees to w turned by +90
    // (the pseudo-angle of -v is that of v plus 2, modulo 4).
    const lo = pseudoAngle(w1, -w0);
    const hi = lo < 2 ? lo + 2 : lo - 2;
    const start = rank(dirs, lo) * width;
    const end = rank(dirs, hi) * width;
    const wraps = lo >= hi; // past angle 0: the range is [start, p) and [0, end)
    for (let c = 0; c < k; c++) {
      const a0 = a[s * k + c]! * w0;
      const a1 = a[s * k + c]! * w1;
      const j = 2 * c;
      diff[start + j]! += a0;
      diff[start + j + 1]! += a1;
      diff[end + j]! -= a0;
      diff[end + j + 1]! -= a1;
      if (wraps) {
        diff[j]! += a0;
        diff[j + 1]! += a1;
        diff[p * width + j]! -= a0;
        diff[p * width + j + 1]! -= a1;
      }
    }
  }
  const sum = new Float64Array(width);
  for (let r = 0; r < p; r++) {
    for (let j = 0; j < width; j++) sum[j]! += diff[r * width + j]!;
    const i = dirs.point[r]!;
    for (let c = 0; c < k; c++)
      out[c * dirs.n + i] = sum[2 * c]! * dirs.x0[i]! + sum[2 * c + 1]! * dirs.x1[i]!;
  }
}
