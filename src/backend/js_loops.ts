import { ACTIVATION_CODES, type WindowGeom } from './window_geom.js';

// Pure-JS versions of native/src/conv_ops.c on a Float32Array over the wasm heap; all offsets
// are in floats. Used when the native addon is absent. Keep both in step.

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
