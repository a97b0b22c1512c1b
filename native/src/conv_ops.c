#include "conv_ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Split a batch loop over the cores only when there is enough work per call. */
#define PAR_IF(g) if ((double)(g)->n * (g)->oh * (g)->ow * (g)->kh * (g)->kw * (g)->c > 2.0e5)

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
            memcpy(dst, xb + ((size_t)iy * g->w + ix0) * g->c, csz * g->kw);
            continue;
          }
          for (int kx = 0; kx < g->kw; kx++) {
            const int ix = ix0 + kx;
            if (ix < 0 || ix >= g->w) memset(dst + (size_t)kx * g->c, 0, csz);
            else memcpy(dst + (size_t)kx * g->c, xb + ((size_t)iy * g->w + ix) * g->c, csz);
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

void max_pool(const float *x, float *y, const window_geom *g) {
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
