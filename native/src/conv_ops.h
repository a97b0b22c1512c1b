/* Image-to-column, column-to-image, max pooling and bias/activation loops on raw float arrays (NHWC). */
#ifndef POISONLAB_CONV_OPS_H
#define POISONLAB_CONV_OPS_H

#include <stddef.h>

/* Geometry of a 2-D window op over an NHWC tensor (batch n, input h x w x c, output oh x ow). */
typedef struct {
  int n, h, w, c;       /* input */
  int kh, kw;           /* window */
  int sh, sw;           /* strides */
  int pad_top, pad_left;
  int oh, ow;           /* output */
} window_geom;

/* col[(b*oh*ow + oy*ow + ox), (ky*kw + kx)*c + ci] = x[b, oy*sh - pad_top + ky, ox*sw - pad_left + kx, ci] (0 outside). */
void im2col(const float *x, float *col, const window_geom *g);
/* Scatter-add of im2col's transpose: dx = sum over windows of col (dx is overwritten). */
void col2im(const float *col, float *dx, const window_geom *g);
/* y[b, oy, ox, ci] = max over the window (padding ignored). */
void max_pool(const float *x, float *y, const window_geom *g);
/* dx = dy routed to the first maximum of each window (dx is overwritten). */
void max_pool_grad(const float *x, const float *dy, float *dx, const window_geom *g);

/* y[r, j] = x[r, j] + bias[j] (y may not overlap x). */
void bias_add(const float *x, const float *bias, float *y, int rows, int cols);

/* out[ky, kx, co, ci] = w[kh-1-ky, kw-1-kx, ci, co]: the filter of a stride-1 conv's input gradient. */
void flip_filter(const float *w, float *out, int kh, int kw, int c, int cout);

/* PyTorch's SGD step: g' = g + wd*w (wd > 0); v' = momentum*v + g' (momentum > 0, to out_v);
   out_w = w - lr*(v' or g'). Outputs may alias w / v (in-place update). */
void sgd_update(float *out_w, float *out_v, const float *w, const float *g, const float *v, size_t n, float lr,
                float momentum, float wd);

/* out[j] = sum over rows of x[r, j]. */
void col_sum(const float *x, float *out, int rows, int cols);

/* Activation codes shared with src/backend/kernels (keep in sync). */
enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_ELU = 3, ACT_SIGMOID = 4, ACT_LEAKY = 5, ACT_PRELU = 6 };
/* y[r, j] = act(y[r, j] + bias[j]) in place; bias and prelu may be NULL; prelu_len is 1 or cols. */
void bias_act(float *y, int rows, int cols, const float *bias, int act, float alpha, const float *prelu, int prelu_len);

#endif
