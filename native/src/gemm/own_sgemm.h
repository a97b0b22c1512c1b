/* The project's own packed, cache-blocked sgemm (own_sgemm.c). */
#ifndef POISONLAB_OWN_SGEMM_H
#define POISONLAB_OWN_SGEMM_H

#include "micro.h"

/* Row-major C = alpha op(A) op(B) + beta C, op(X) = X or X^T; C is m x n, op(A) m x k, op(B) k x n.
   beta == 0 never reads C. Runs on up to `threads` OpenMP threads. Returns 0, or -1 when its packing
   buffers cannot be allocated (C is then partly written). */
int own_sgemm(const micro_kernel *mk, int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc, int threads);

#endif
