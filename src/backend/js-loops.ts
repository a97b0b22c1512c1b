import type { SgdUpdate } from './heap-ops.js';
import { ACTIVATION_CODES, type WindowGeom } from './window-geom.js';

// Pure-JS loops of the wasm side's heap operations (wasm-ops.ts), where it has no SIMD loop: the
// counterparts of native/src/conv_ops.c and conv_direct.c on a Float32Array over the wasm heap.
// Offsets are in floats, except sgdJs (byte offsets, as SgdUpdate). Keep them in step with the C.

/** col[(b, oy, ox), (ky, kx, ci)] = x[b, oy*sh - padTop + ky, ox*sw - padLeft + kx, ci], 0 outside. */
export function im2colJs(h: Float32Array, x: number, col: number, g: WindowGeom): void {
  const { c, kh, kw } = g;
  const rowlen = kh * kw * c;
  let row = col;
  for (let b = 0; b < g.n; b++) {
    const xb = x + b * g.h * g.w * c;
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++, row += rowlen) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky;
          const dst = row + ky * kw * c;
          if (iy < 0 || iy >= g.h) {
            h.fill(0, dst, dst + kw * c);
            continue;
          }
          const ix0 = ox * g.sw - g.padLeft;
          if (ix0 >= 0 && ix0 + kw <= g.w) {
            const src = xb + (iy * g.w + ix0) * c;
            h.copyWithin(dst, src, src + kw * c);
            continue;
          }
          for (let kx = 0; kx < kw; kx++) {
            const ix = ix0 + kx;
            const d = dst + kx * c;
            if (ix < 0 || ix >= g.w) h.fill(0, d, d + c);
            else {
              const src = xb + (iy * g.w + ix) * c;
              h.copyWithin(d, src, src + c);
            }
          }
        }
      }
    }
  }
}

/** dx = scatter-add of col over the windows (dx overwritten). */
export function col2imJs(h: Float32Array, col: number, dx: number, g: WindowGeom): void {
  const { c, kh, kw } = g;
  const rowlen = kh * kw * c;
  h.fill(0, dx, dx + g.n * g.h * g.w * c);
  let row = col;
  for (let b = 0; b < g.n; b++) {
    const db = dx + b * g.h * g.w * c;
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++, row += rowlen) {
        // the window's columns inside the image, kx in [kx0, kx1): contiguous in col and dx
        const ix0 = ox * g.sw - g.padLeft;
        const kx0 = ix0 < 0 ? -ix0 : 0;
        const kx1 = ix0 + kw > g.w ? g.w - ix0 : kw;
        if (kx1 <= kx0) continue;
        const len = (kx1 - kx0) * c;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          const src = row + (ky * kw + kx0) * c;
          const dst = db + (iy * g.w + ix0 + kx0) * c;
          for (let i = 0; i < len; i++) h[dst + i] += h[src + i];
        }
      }
    }
  }
}

/** y = max over each window (padding ignored). */
export function maxPoolJs(h: Float32Array, x: number, y: number, g: WindowGeom): void {
  const { c } = g;
  let out = y;
  for (let b = 0; b < g.n; b++) {
    const xb = x + b * g.h * g.w * c;
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++, out += c) {
        h.fill(Number.NEGATIVE_INFINITY, out, out + c);
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx;
            if (ix < 0 || ix >= g.w) continue;
            const src = xb + (iy * g.w + ix) * c;
            for (let ci = 0; ci < c; ci++) if (h[src + ci] > h[out + ci]) h[out + ci] = h[src + ci];
          }
        }
      }
    }
  }
}

/** dx = dy routed to the first maximum of each window (dx overwritten). */
export function maxPoolGradJs(h: Float32Array, x: number, dy: number, dx: number, g: WindowGeom): void {
  const { c } = g;
  h.fill(0, dx, dx + g.n * g.h * g.w * c);
  let d = dy;
  for (let b = 0; b < g.n; b++) {
    const base = b * g.h * g.w * c;
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++, d += c) {
        for (let ci = 0; ci < c; ci++) {
          let best = Number.NEGATIVE_INFINITY;
          let arg = -1;
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.sh - g.padTop + ky;
            if (iy < 0 || iy >= g.h) continue;
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.sw - g.padLeft + kx;
              if (ix < 0 || ix >= g.w) continue;
              const at = base + (iy * g.w + ix) * c + ci;
              if (arg < 0 || h[x + at] > best) {
                best = h[x + at];
                arg = at;
              }
            }
          }
          if (arg >= 0) h[dx + arg] += h[d + ci];
        }
      }
    }
  }
}

/** y[r, j] = act(y[r, j] + bias[j]) in place; bias / prelu offsets < 0 mean none. */
export function biasActJs(
  h: Float32Array,
  y: number,
  rows: number,
  cols: number,
  bias: number,
  act: number,
  alpha: number,
  prelu: number,
  preluLen: number,
): void {
  const end = y + rows * cols;
  if (bias >= 0) for (let r = y; r < end; r += cols) for (let j = 0; j < cols; j++) h[r + j] += h[bias + j];
  switch (act) {
    case ACTIVATION_CODES.relu:
      for (let i = y; i < end; i++) if (h[i] < 0) h[i] = 0;
      break;
    case ACTIVATION_CODES.relu6:
      for (let i = y; i < end; i++) h[i] = Math.min(Math.max(h[i], 0), 6);
      break;
    case ACTIVATION_CODES.elu:
      for (let i = y; i < end; i++) if (h[i] < 0) h[i] = Math.expm1(h[i]);
      break;
    case ACTIVATION_CODES.sigmoid:
      for (let i = y; i < end; i++) h[i] = 1 / (1 + Math.exp(-h[i]));
      break;
    case ACTIVATION_CODES.leakyrelu:
      for (let i = y; i < end; i++) if (h[i] < 0) h[i] *= alpha;
      break;
    case ACTIVATION_CODES.prelu:
      for (let r = y; r < end; r += cols)
        for (let j = 0; j < cols; j++) if (h[r + j] < 0) h[r + j] *= h[prelu + (preluLen === 1 ? 0 : j)];
      break;
    default:
      break;
  }
}

/** out[j] = sum over rows of x[r, j]. */
export function colSumJs(h: Float32Array, x: number, out: number, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const row = x + r * cols;
    for (let j = 0; j < cols; j++) acc[j] += h[row + j];
  }
  for (let j = 0; j < cols; j++) h[out + j] = acc[j];
}

/** h[out + ((ky*kw + kx)*cout + co)*c + ci] = h[w + (((kh-1-ky)*kw + kw-1-kx)*c + ci)*cout + co]. */
export function flipFilterJs(
  h: Float32Array,
  w: number,
  out: number,
  kh: number,
  kw: number,
  c: number,
  cout: number,
): void {
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++) {
      const src = w + ((kh - 1 - ky) * kw + (kw - 1 - kx)) * c * cout;
      const dst = out + (ky * kw + kx) * cout * c;
      for (let ci = 0; ci < c; ci++)
        for (let co = 0; co < cout; co++) h[dst + co * c + ci] = h[src + ci * cout + co]!;
    }
}

/** out = x > 0 ? dy : 0 over n floats. */
export function reluGradJs(h: Float32Array, out: number, x: number, dy: number, n: number): void {
  for (let i = 0; i < n; i++) h[out + i] = h[x + i]! > 0 ? h[dy + i]! : 0;
}

/**
 * The SGD update of SgdUpdate (byte offsets, as on every side), rounding to float32 after every
 * operation as tfjs and the SIMD loop do.
 */
export function sgdJs(h: Float32Array, u: SgdUpdate): void {
  const f = Math.fround;
  const [lr, momentum, wd] = [f(u.lr), f(u.momentum), f(u.weightDecay)];
  const [ow, ov, w, g, v] = [u.outW >> 2, u.outV >> 2, u.w >> 2, u.g >> 2, u.v >> 2];
  for (let i = 0; i < u.n; i++) {
    let gi = h[g + i]!;
    if (u.weightDecay > 0) gi = f(gi + f(h[w + i]! * wd));
    if (u.momentum > 0) {
      gi = f(f(h[v + i]! * momentum) + gi);
      h[ov + i] = gi;
    }
    h[ow + i] = h[w + i]! - f(gi * lr);
  }
}

/** y[b, oy, ox, co] = act(sum over the window of x[b, iy, ix, ci] w[ky, kx, ci, co] + bias[co]); bias < 0: none. */
export function convForwardJs(
  h: Float32Array,
  x: number,
  w: number,
  bias: number,
  relu: boolean,
  y: number,
  cout: number,
  g: WindowGeom,
): void {
  const { c, kh, kw } = g;
  const acc = new Float64Array(cout);
  let out = y;
  for (let b = 0; b < g.n; b++) {
    const xb = x + b * g.h * g.w * c;
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++, out += cout) {
        acc.fill(0);
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx;
            if (ix < 0 || ix >= g.w) continue;
            const xs = xb + (iy * g.w + ix) * c;
            const ws = w + (ky * kw + kx) * c * cout;
            for (let ci = 0; ci < c; ci++) {
              const xv = h[xs + ci]!;
              const wr = ws + ci * cout;
              for (let co = 0; co < cout; co++) acc[co] += xv * h[wr + co]!;
            }
          }
        }
        for (let co = 0; co < cout; co++) {
          const v = acc[co]! + (bias >= 0 ? h[bias + co]! : 0);
          h[out + co] = relu && v < 0 ? 0 : v;
        }
      }
    }
  }
}

/** Calls body(dyRow, xPixel, ky, kx) for every output position and every window tap inside the image. */
function forEachTap(
  g: WindowGeom,
  cout: number,
  body: (dyRow: number, pixel: number, tap: number) => void,
): void {
  let dyRow = 0;
  for (let b = 0; b < g.n; b++)
    for (let oy = 0; oy < g.oh; oy++)
      for (let ox = 0; ox < g.ow; ox++, dyRow += cout)
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx;
            if (ix >= 0 && ix < g.w) body(dyRow, (b * g.h + iy) * g.w + ix, ky * g.kw + kx);
          }
        }
}

/** dw[ky, kx, ci, co] = sum over batch and output positions of x[b, iy, ix, ci] dy[b, oy, ox, co] (dw overwritten). */
export function convFilterGradJs(
  h: Float32Array,
  x: number,
  dy: number,
  dw: number,
  cout: number,
  g: WindowGeom,
): void {
  const { c } = g;
  const acc = new Float64Array(g.kh * g.kw * c * cout);
  forEachTap(g, cout, (dyRow, pixel, tap) => {
    const xs = x + pixel * c;
    const d = dy + dyRow;
    for (let ci = 0; ci < c; ci++) {
      const xv = h[xs + ci]!;
      const a = (tap * c + ci) * cout;
      for (let co = 0; co < cout; co++) acc[a + co] += xv * h[d + co]!;
    }
  });
  for (let i = 0; i < acc.length; i++) h[dw + i] = acc[i]!;
}

/** dx[b, iy, ix, ci] = sum over the windows holding it of dy[b, oy, ox, co] w[ky, kx, ci, co] (dx overwritten). */
export function convInputGradJs(
  h: Float32Array,
  dy: number,
  w: number,
  dx: number,
  cout: number,
  g: WindowGeom,
): void {
  const { c } = g;
  h.fill(0, dx, dx + g.n * g.h * g.w * c);
  forEachTap(g, cout, (dyRow, pixel, tap) => {
    const d = dy + dyRow;
    const xd = dx + pixel * c;
    for (let ci = 0; ci < c; ci++) {
      const wr = w + (tap * c + ci) * cout;
      let s = 0;
      for (let co = 0; co < cout; co++) s += h[d + co]! * h[wr + co]!;
      h[xd + ci] += s;
    }
  });
}
