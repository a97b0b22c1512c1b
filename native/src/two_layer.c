/*
 * One minibatch SGD step of the theory's two-layer ReLU net on the logistic loss (mean over the
 * batch, no momentum or weight decay), f(x) = scale * sum_s a_s relu(w_s . x), with W = [w_1 .. w_m]
 * stored as the tfjs kernel [d, m]:
 *
 *   H = X W                                     (one sgemm, [B, m])
 *   f_i = scale * sum_s a_s relu(H_is);  z_i = s_i f_i with s_i = 2 y_i - 1
 *   loss_i = softplus(-z_i);  g_i = dloss_i/df_i / B = -s_i sigmoid(-z_i) / B
 *   dZ_is = g_i * scale * a_s * [H_is > 0]      (written over H)
 *   W <- W - lr X^T dZ                          (one sgemm, alpha -lr, beta 1: no gradient buffer)
 *
 * the same update as the generic tfjs path (forward, tape, gradient, SGD), in two products and one
 * pass over [B, m].
 */
#include "two_layer.h"

#include <math.h>
#include <stdlib.h>

#include "gemm/gemm.h"

int two_layer_step(const float *x, const int32_t *y, float *w, const float *a, float *h, int batch, int d, int m,
                   float lr, float scale, double *out) {
  if (gemm_sgemm(0, 0, batch, m, d, 1.0f, x, d, w, m, 0.0f, h, m) != 0) return -1;
  /* per-sample margins; loss and accuracy are summed from them in sample order below, so that they have the same
     bits whatever the thread count */
  double *margins = malloc(sizeof(double) * (size_t)(batch > 0 ? batch : 1));
  if (!margins) return -1;
  double loss = 0, correct = 0;
#pragma omp parallel for schedule(static) if ((double)batch * m > 1.0e5)
  for (int i = 0; i < batch; i++) {
    float *hi = h + (size_t)i * m;
    float f = 0;
    for (int s = 0; s < m; s++) f += a[s] * (hi[s] > 0.f ? hi[s] : 0.f);
    f *= scale;
    const double sign = y[i] == 1 ? 1.0 : -1.0, z = sign * f;
    margins[i] = z;
    /* sigmoid(-z), stable for large |z| */
    const double sig = z >= 0 ? exp(-z) / (1 + exp(-z)) : 1 / (1 + exp(z));
    const float g = (float)(-sign * sig / batch) * scale;
    for (int s = 0; s < m; s++) hi[s] = hi[s] > 0.f ? g * a[s] : 0.f;
  }
  for (int i = 0; i < batch; i++) {
    const double z = margins[i];
    /* softplus(-z), stable for large |z| */
    loss += (z < 0 ? -z : 0) + log1p(exp(-fabs(z)));
    correct += z > 0;
  }
  free(margins);
  out[0] = loss;
  out[1] = correct;
  return gemm_sgemm(1, 0, d, m, batch, -lr, x, d, h, m, 1.0f, w, m);
}
