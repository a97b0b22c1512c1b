#include "conv_ops.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Split a batch loop over the cores only when there is enough work per call. */
#define PAR_IF(g) if ((double)(g)->n * (g)->oh * (g)->ow * (g)->kh * (g)->kw * (g)->c > 2.0e5)

/* Copies n floats; short rows (a 5x5 window on 1 channel copies 5 floats) by a plain loop, as a
   libc memcpy call per row would cost more than the copy (needs -fno-tree-loop-distribute-patterns). */
static inline void copy_floats(float *restrict dst, const float *restrict src, int n) {
  if (n >= 32) {
    memcpy(dst, src, (size_t)n * sizeof(float));
    return;
  }
  for (int i = 0; i < n; i++) dst[i] = src[i];
}

void im2col(const float *x, float *col, const window_geom *g) {
  const int rowlen = g->kh * g->kw * g->c;
  const size_t csz = (size_t)g->c * sizeof(float);
#pragma omp parallel for schedule(static) PAR_IF(g)
  for (int b = 0; b < g->n; b++) {
    const float *xb = x + (size_t)b * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        float *row = col + ((size_t)(b * g->oh + oy) * g->ow + ox) * rowlen;
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = oy * g->sh - g->pad_top + ky;
          float *dst = row + (size_t)ky * g->kw * g->c;
          if (iy < 0 || iy >= g->h) {
            memset(dst, 0, csz * g->kw);
            continue;
          }
          const int ix0 = ox * g->sw - g->pad_left;
          if (ix0 >= 0 && ix0 + g->kw <= g->w) {
            /* the whole kernel row is inside: one contiguous copy */
            copy_floats(dst, xb + ((size_t)iy * g->w + ix0) * g->c, g->c * g->kw);
            continue;
          }
          for (int kx = 0; kx < g->kw; kx++) {
            const int ix = ix0 + kx;
            if (ix < 0 || ix >= g->w) memset(dst + (size_t)kx * g->c, 0, csz);
            else copy_floats(dst + (size_t)kx * g->c, xb + ((size_t)iy * g->w + ix) * g->c, g->c);
          }
        }
      }
    }
  }
}

void col2im(const float *col, float *dx, const window_geom *g) {
  const int rowlen = g->kh * g->kw * g->c;
  memset(dx, 0, (size_t)g->n * g->h * g->w * g->c * sizeof(float));
#pragma omp parallel for schedule(static) PAR_IF(g)
  for (int b = 0; b < g->n; b++) {
    float *db = dx + (size_t)b * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        const float *row = col + ((size_t)(b * g->oh + oy) * g->ow + ox) * rowlen;
        /* the window's columns inside the image: kx in [kx0, kx1) */
        const int ix0 = ox * g->sw - g->pad_left;
        const int kx0 = ix0 < 0 ? -ix0 : 0;
        const int kx1 = ix0 + g->kw > g->w ? g->w - ix0 : g->kw;
        if (kx1 <= kx0) continue;
        const int len = (kx1 - kx0) * g->c; /* contiguous in both col and dx */
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = oy * g->sh - g->pad_top + ky;
          if (iy < 0 || iy >= g->h) continue;
          const float *src = row + ((size_t)ky * g->kw + kx0) * g->c;
          float *dst = db + ((size_t)iy * g->w + ix0 + kx0) * g->c;
          for (int i = 0; i < len; i++) dst[i] += src[i];
        }
      }
    }
  }
}

/* Pooling is memory-bound, yet a second thread halves it from ~5e5 elements (measured on [128,24,24,10]). */
#define POOL_PAR_IF(g) if ((double)(g)->n * (g)->h * (g)->w * (g)->c > 5.0e5)

/* The common 2x2 window, stride 2, no padding (every window lies inside the input). */
static int is_pool2(const window_geom *g) {
  return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->pad_top == 0 && g->pad_left == 0 &&
         2 * g->oh <= g->h && 2 * g->ow <= g->w;
}

/* y = max of the four values of each 2x2 window; the same order of comparisons as the general loop. */
static void max_pool2(const float *x, float *y, const window_geom *g) {
  const int c = g->c;
  const size_t rs = (size_t)g->w * c; /* input row stride */
#pragma omp parallel for schedule(static) POOL_PAR_IF(g)
  for (int b = 0; b < g->n; b++) {
    for (int oy = 0; oy < g->oh; oy++) {
      const float *r0 = x + ((size_t)b * g->h + 2 * oy) * rs;
      const float *r1 = r0 + rs;
      float *out = y + ((size_t)b * g->oh + oy) * g->ow * c;
      for (int ox = 0; ox < g->ow; ox++, out += c) {
        const float *p = r0 + (size_t)2 * ox * c, *q = r1 + (size_t)2 * ox * c;
        for (int ci = 0; ci < c; ci++) {
          float m = -INFINITY;
          m = p[ci] > m ? p[ci] : m;
          m = p[c + ci] > m ? p[c + ci] : m;
          m = q[ci] > m ? q[ci] : m;
          m = q[c + ci] > m ? q[c + ci] : m;
          out[ci] = m;
        }
      }
    }
  }
}

/* dx of max_pool2: each window's dy goes to its first maximum, the other three get 0 (no scatter). */
static void max_pool2_grad(const float *restrict x, const float *restrict dy, float *restrict dx, const window_geom *g) {
  const int c = g->c;
  const size_t rs = (size_t)g->w * c;
  /* rows / columns that no window covers (odd sizes) get no gradient */
  if (2 * g->oh != g->h || 2 * g->ow != g->w) memset(dx, 0, (size_t)g->n * g->h * rs * sizeof(float));
#pragma omp parallel for schedule(static) POOL_PAR_IF(g)
  for (int b = 0; b < g->n; b++) {
    for (int oy = 0; oy < g->oh; oy++) {
      const size_t r0 = ((size_t)b * g->h + 2 * oy) * rs, r1 = r0 + rs;
      const float *d = dy + ((size_t)b * g->oh + oy) * g->ow * c;
      for (int ox = 0; ox < g->ow; ox++, d += c) {
        const size_t o00 = r0 + (size_t)2 * ox * c, o01 = o00 + c, o10 = r1 + (size_t)2 * ox * c, o11 = o10 + c;
        for (int ci = 0; ci < c; ci++) {
          /* the sequential first-maximum scan of the general loop (strict '>', as tfjs's cpu
             backend), written as selects so that it vectorises and has no unpredictable branches */
          const float a = x[o00 + ci], b2 = x[o01 + ci], c2 = x[o10 + ci], d2 = x[o11 + ci];
          const uint32_t t1 = b2 > a;
          const float m1 = t1 ? b2 : a;
          const uint32_t t2 = c2 > m1;
          const float m2 = t2 ? c2 : m1;
          const uint32_t t3 = d2 > m2;
          uint32_t v;
          memcpy(&v, d + ci, 4);
          /* the winner gets dy's bits, the others +0 (bit masks: no branches) */
          const uint32_t w11 = v & (0u - t3), w10 = v & (0u - (t2 & ~t3 & 1u));
          const uint32_t w01 = v & (0u - (t1 & ~t2 & ~t3 & 1u)), w00 = v & (0u - (~t1 & ~t2 & ~t3 & 1u));
          memcpy(dx + o11 + ci, &w11, 4);
          memcpy(dx + o10 + ci, &w10, 4);
          memcpy(dx + o01 + ci, &w01, 4);
          memcpy(dx + o00 + ci, &w00, 4);
        }
      }
    }
  }
}

void max_pool(const float *x, float *y, const window_geom *g) {
  if (is_pool2(g)) {
    max_pool2(x, y, g);
    return;
  }
#pragma omp parallel for schedule(static) PAR_IF(g)
  for (int b = 0; b < g->n; b++) {
    const float *xb = x + (size_t)b * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        float *out = y + ((size_t)(b * g->oh + oy) * g->ow + ox) * g->c;
        for (int ci = 0; ci < g->c; ci++) out[ci] = -INFINITY;
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = oy * g->sh - g->pad_top + ky;
          if (iy < 0 || iy >= g->h) continue;
          for (int kx = 0; kx < g->kw; kx++) {
            const int ix = ox * g->sw - g->pad_left + kx;
            if (ix < 0 || ix >= g->w) continue;
            const float *src = xb + ((size_t)iy * g->w + ix) * g->c;
            for (int ci = 0; ci < g->c; ci++) out[ci] = src[ci] > out[ci] ? src[ci] : out[ci];
          }
        }
      }
    }
  }
}

void max_pool_grad(const float *x, const float *dy, float *dx, const window_geom *g) {
  if (is_pool2(g)) {
    max_pool2_grad(x, dy, dx, g);
    return;
  }
  memset(dx, 0, (size_t)g->n * g->h * g->w * g->c * sizeof(float));
#pragma omp parallel PAR_IF(g)
  {
  float *best = malloc((size_t)g->c * sizeof(float));
  size_t *arg = malloc((size_t)g->c * sizeof(size_t));
  /* images are independent: each thread writes only its own images' dx */
#pragma omp for schedule(static)
  for (int b = 0; b < g->n; b++) {
    if (!best || !arg) continue;
    const size_t base = (size_t)b * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++) {
        const float *d = dy + ((size_t)(b * g->oh + oy) * g->ow + ox) * g->c;
        int first = 1;
        for (int ky = 0; ky < g->kh; ky++) {
          const int iy = oy * g->sh - g->pad_top + ky;
          if (iy < 0 || iy >= g->h) continue;
          for (int kx = 0; kx < g->kw; kx++) {
            const int ix = ox * g->sw - g->pad_left + kx;
            if (ix < 0 || ix >= g->w) continue;
            const size_t at = base + ((size_t)iy * g->w + ix) * g->c;
            const float *src = x + at;
            if (first) {
              for (int ci = 0; ci < g->c; ci++) {
                best[ci] = src[ci];
                arg[ci] = at + ci;
              }
              first = 0;
            } else {
              /* strict '>' keeps the first maximum, as tfjs's cpu backend */
              for (int ci = 0; ci < g->c; ci++)
                if (src[ci] > best[ci]) {
                  best[ci] = src[ci];
                  arg[ci] = at + ci;
                }
            }
          }
        }
        if (!first)
          for (int ci = 0; ci < g->c; ci++) dx[arg[ci]] += d[ci];
      }
    }
  }
  free(best);
  free(arg);
  }
}

/* out[j] = sum over rows of x[r, j] (column sums of a [rows, cols] matrix). */
void col_sum(const float *x, float *out, int rows, int cols) {
  memset(out, 0, (size_t)cols * sizeof(float));
  for (int r = 0; r < rows; r++) {
    const float *row = x + (size_t)r * cols;
    for (int j = 0; j < cols; j++) out[j] += row[j];
  }
}

void bias_add(const float *restrict x, const float *restrict bias, float *restrict y, int rows, int cols) {
#pragma omp parallel for schedule(static) if ((double)rows * cols > 2.0e5)
  for (int r = 0; r < rows; r++) {
    const float *xr = x + (size_t)r * cols;
    float *yr = y + (size_t)r * cols;
    for (int j = 0; j < cols; j++) yr[j] = xr[j] + bias[j];
  }
}

void bias_act(float *y, int rows, int cols, const float *bias, int act, float alpha, const float *prelu, int prelu_len) {
#pragma omp parallel for schedule(static) if ((double)rows * cols > 2.0e5)
  for (int r = 0; r < rows; r++) {
    float *row = y + (size_t)r * cols;
    if (bias)
      for (int j = 0; j < cols; j++) row[j] += bias[j];
    switch (act) {
      case ACT_RELU:
        for (int j = 0; j < cols; j++) row[j] = row[j] > 0.f ? row[j] : 0.f;
        break;
      case ACT_RELU6:
        for (int j = 0; j < cols; j++) row[j] = row[j] < 0.f ? 0.f : (row[j] > 6.f ? 6.f : row[j]);
        break;
      case ACT_ELU:
        for (int j = 0; j < cols; j++) row[j] = row[j] >= 0.f ? row[j] : expm1f(row[j]);
        break;
      case ACT_SIGMOID:
        for (int j = 0; j < cols; j++) row[j] = 1.f / (1.f + expf(-row[j]));
        break;
      case ACT_LEAKY:
        for (int j = 0; j < cols; j++) row[j] = row[j] >= 0.f ? row[j] : alpha * row[j];
        break;
      case ACT_PRELU:
        for (int j = 0; j < cols; j++) {
          const float a = prelu[prelu_len == 1 ? 0 : j];
          row[j] = row[j] >= 0.f ? row[j] : a * row[j];
        }
        break;
      default:
        break;
    }
  }
}

void flip_filter(const float *w, float *out, int kh, int kw, int c, int cout) {
  for (int ky = 0; ky < kh; ky++)
    for (int kx = 0; kx < kw; kx++) {
      const float *src = w + ((size_t)(kh - 1 - ky) * kw + (kw - 1 - kx)) * c * cout;
      float *dst = out + ((size_t)ky * kw + kx) * cout * c;
      /* a [c, cout] block transposed to [cout, c], in 16x16 tiles */
      for (int i0 = 0; i0 < c; i0 += 16)
        for (int j0 = 0; j0 < cout; j0 += 16)
          for (int i = i0; i < c && i < i0 + 16; i++)
            for (int j = j0; j < cout && j < j0 + 16; j++) dst[(size_t)j * c + i] = src[(size_t)i * cout + j];
    }
}

/* No contraction into fused multiply-adds here: the update must round exactly like tfjs's separate
   Multiply / Add / Sub kernels (and the project's wasm SIMD loop), bit for bit. */
__attribute__((optimize("fp-contract=off"))) void sgd_update(float *out_w, float *out_v, const float *w,
                                                              const float *g, const float *v, size_t n, float lr,
                                                              float momentum, float wd) {
#pragma omp parallel for schedule(static) if (n > 4000000)
  for (size_t i = 0; i < n; i++) {
    float gi = g[i];
    if (wd > 0.f) gi = gi + w[i] * wd;
    if (momentum > 0.f) {
      gi = v[i] * momentum + gi;
      out_v[i] = gi;
    }
    out_w[i] = w[i] - gi * lr;
  }
}
