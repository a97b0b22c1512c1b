/*
 * Register-blocked micro-kernels of the project's own sgemm (own_sgemm.c).
 *
 * A micro-kernel computes one tile of row-major C, rows x cols with rows <= MR and cols <= NR:
 *
 *   C = alpha A B + beta C      (beta == 0 never reads C: it may hold NaN)
 *
 * where A is MR x kc with element (i, p) at a[i * rsa + p * csa] (a packed sliver has rsa = 1,
 * csa = MR; rows past `rows` may hold anything) and B is a packed kc x NR sliver, 64-byte aligned,
 * NR values per p, zero past `cols`. Nothing of C outside rows x cols is read or written.
 */
#ifndef POISONLAB_GEMM_MICRO_H
#define POISONLAB_GEMM_MICRO_H

#include <stddef.h>

typedef void (*micro_fn)(int kc, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                         float beta, float *c, ptrdiff_t ldc, int rows, int cols);

/* Packs one sliver, as pack_along (own_sgemm.c) or as follows from a matrix read across its rows: dst[p * width + j] = src[j * ld + p] for
   p < kc, j < cols, zero for cols <= j < width (A of an untransposed op(A), B of a transposed op(B)). */
typedef void (*pack_fn)(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst);

typedef struct {
  const char *id;    /* 'avx512', 'avx2', 'portable': the POISONLAB_GEMM=own-<id> choice */
  const char *label; /* for doctor and bench, e.g. "AVX-512" */
  int mr, nr;        /* the tile: rows of C (A values broadcast) x columns of C (vector lanes) */
  micro_fn packed;   /* A packed: rsa = 1, csa = mr (the kernel may rely on it) */
  micro_fn strided;  /* A read in place with any rsa, csa */
  int nr_narrow;     /* a second pair for narrow C (n <= nr_narrow), 0 if none */
  micro_fn narrow_packed, narrow_strided;
  pack_fn pack_across; /* faster packs than the portable loops of own_sgemm.c, or NULL */
  pack_fn pack_along;
} micro_kernel;

/* Each returns NULL when this build or this CPU cannot run it (checked with __builtin_cpu_supports). */
const micro_kernel *micro_avx512(void);
const micro_kernel *micro_avx2(void);
const micro_kernel *micro_portable(void); /* never NULL */

/* The AVX2 packs (micro_avx2.c), shared by the AVX2 and AVX-512 kernels. */
void pack_across_avx2(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst);
void pack_along_avx2(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst);

#endif
