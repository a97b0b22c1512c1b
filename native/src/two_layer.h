/* One minibatch SGD step of the theory's two-layer net, fused (see two_layer.c). */
#ifndef POISONLAB_TWO_LAYER_H
#define POISONLAB_TWO_LAYER_H

#include <stdint.h>

/* x [B, d], labels y [B] in {0, 1}, w [d, m] (updated in place), a [m], scratch h [B, m];
   out[0] = the batch's summed loss, out[1] = its number of correct signs (both before the update).
   Returns 0, or -1 when a product ran out of memory. */
int two_layer_step(const float *x, const int32_t *y, float *w, const float *a, float *h, int batch, int d, int m,
                   float lr, float scale, double *out);

#endif
