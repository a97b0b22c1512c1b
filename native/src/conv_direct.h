/* Direct (im2col-free) convolutions for layers with few channels (NHWC, dilation 1). */
#ifndef POISONLAB_CONV_DIRECT_H
#define POISONLAB_CONV_DIRECT_H

#include "conv_ops.h"

/* y[b,oy,ox,co] = act(sum_{ky,kx,ci} x[b, oy*sh-pt+ky, ox*sw-pl+kx, ci] * w[ky,kx,ci,co] (0 outside) + bias[co]),
   act = relu when `relu`, else the identity. g describes x and the output size; w is [kh,kw,c,cout];
   bias may be NULL. Returns 0, or -1 when out of memory. */
int conv_direct_forward(const float *x, const float *w, const float *bias, int relu, float *y, int cout,
                        const window_geom *g, int threads);

/* dw[ky,kx,ci,co] = sum_{b,oy,ox} x[b, oy*sh-pt+ky, ox*sw-pl+kx, ci] * dy[b,oy,ox,co] (dw overwritten). */
int conv_direct_filter_grad(const float *x, const float *dy, float *dw, int cout, const window_geom *g,
                            int threads);

/* dx = the gradient of conv_direct_forward with respect to x (dx overwritten): every output pixel
   scatters W^T dy[pixel] into a padded copy of dx, whose interior is then copied out. */
int conv_direct_input_grad(const float *dy, const float *w, float *dx, int cout, const window_geom *g,
                           int threads);

#endif
