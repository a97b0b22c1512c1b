/*
 * The addon's one single-precision matrix product. It runs either the system BLAS the addon was
 * built with (OpenBLAS on Linux, Accelerate on macOS; none when built with POISONLAB_BLAS=own or
 * without one) or the project's own packed kernel (own_sgemm.c), chosen at run time (select.c).
 */
#ifndef POISONLAB_GEMM_H
#define POISONLAB_GEMM_H

#include <stddef.h>

/* Row-major C = alpha op(A) op(B) + beta C (the cblas_sgemm contract; beta == 0 never reads C).
   Returns 0, or -1 when the own kernel ran out of memory. */
int gemm_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
               int ldb, float beta, float *c, int ldc);

/* Threads the following products may use. */
void gemm_set_threads(int threads);

/* Chooses the kernel: "auto", "own" (the best own micro-kernel this CPU runs), "own-avx512",
   "own-avx2", "own-portable", or the system library ("openblas" / "accelerate").
   Returns 0, or -1 when the name is unknown or this build / CPU cannot run it. */
int gemm_select(const char *choice);

/* The kernel in use, e.g. "own packed AVX-512 (8x32)" or "OpenBLAS 0.3.21 Haswell". */
const char *gemm_describe(void);

/* The names gemm_select accepts in this build on this CPU (besides "auto" and "own"), and their count. */
size_t gemm_choices(const char **names, size_t max);

/* The system library's build string (openblas_get_config()), "Accelerate", or NULL without one. */
const char *gemm_system_config(void);

#endif
