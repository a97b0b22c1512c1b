import { heapF32, heapFree, heapMalloc, type WasmBackend } from './heap.js';
import type { SimdLoops } from './simd.js';

// The bias add of a layer, y[r, j] = x[r, j] + b[j], and its gradient, the column sum over rows, as
// SIMD passes over the flat [rows * cols] array: the bias repeats every `cols` floats, so it is laid
// out once as a tile of P floats (P a multiple of both cols and 4) and the array is processed in
// chunks of P with the plain 4-lane add. Offsets are byte offsets on the heap.

/**
 * Tile length: a multiple of lcm(cols, 4) near n / 16 (between 4096 floats and 1 MiB, or one
 * period when that is longer), so that a pass is a few calls into wasm and a column sum adds at most
 * ~16 terms per lane in float32 (more only for tensors over 16 MiB).
 */
function tileLength(n: number, cols: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const period = (cols * 4) / gcd(cols, 4);
  const target = Math.min(Math.max(4096, Math.ceil(n / 16)), 262144);
  return Math.min(period * Math.max(1, Math.ceil(target / period)), n);
}

/** Fills h[t, t + p) with the `cols` floats at h[b] repeated (p a multiple of cols), by doubling copies. */
function fillTile(h: Float32Array, t: number, b: number, cols: number, p: number): void {
  h.copyWithin(t, b, b + cols);
  for (let len = cols; len < p; len *= 2) h.copyWithin(t + len, t, t + Math.min(len, p - len));
}

/** out[r, j] = x[r, j] + bias[j] (out may be x). */
export function biasAddSimd(
  be: WasmBackend,
  loops: SimdLoops,
  x: number,
  bias: number,
  out: number,
  rows: number,
  cols: number,
): void {
  // integers V8 keeps as small ints: wasm calls with non-Smi numbers take a much slower path
  const n = (rows * cols) | 0;
  if (n === 0) return;
  const p = tileLength(n, cols) | 0;
  const tile = heapMalloc(be, p * 4);
  try {
    fillTile(heapF32(be), tile >> 2, bias >> 2, cols, p);
    // every chunk starts at a multiple of p, so at column 0
    for (let start = 0; start < n; start += p)
      loops.add(out + start * 4, x + start * 4, tile, Math.min(p, n - start));
  } finally {
    heapFree(be, tile);
  }
}

/**
 * out[j] = sum over r of x[r, j]: chunks of the tile's length are summed lane by lane in float32,
 * the tile's partial sums then per column in float64.
 */
export function colSumSimd(
  be: WasmBackend,
  loops: SimdLoops,
  x: number,
  out: number,
  rows: number,
  cols: number,
): void {
  const n = (rows * cols) | 0; // see biasAddSimd
  if (n === 0) {
    heapF32(be).fill(0, out >> 2, (out >> 2) + cols);
    return;
  }
  const p = tileLength(n, cols) | 0;
  const acc = heapMalloc(be, p * 4);
  try {
    let h = heapF32(be);
    const a = acc >> 2;
    h.copyWithin(a, x >> 2, (x >> 2) + p);
    for (let start = p; start < n; start += p) loops.add(acc, acc, x + start * 4, Math.min(p, n - start));
    h = heapF32(be);
    const o = out >> 2;
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let i = j; i < p; i += cols) s += h[a + i]!;
      h[o + j] = s;
    }
  } finally {
    heapFree(be, acc);
  }
}
