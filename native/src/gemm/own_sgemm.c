/*
 * The project's own single-precision matrix product, in the layout of Goto's and BLIS's papers
 * (read to learn; nothing copied), for row-major C:
 *
 *   for each block of MC rows of A:
 *     for each block of KC of the inner dimension:
 *       pack A's MC x KC block into MR-row slivers                          -> L3 / L2
 *       for each block of NC columns of B:
 *         pack B's KC x NC block into NR-column slivers                     -> L2
 *         for each MR-row sliver of A (stays in L1 across the loop below):
 *           for each NR-column sliver of B (streams from L2):
 *             micro-kernel: the MR x NR tile of C += sliver(A) x sliver(B)
 *
 * Block sizes, for this project's 2-core AMD EPYC (Zen 4: 32 KiB L1d and 1 MiB L2 per core,
 * 32 MiB shared L3), in floats:
 *  - KC = 384: an A sliver, MR x KC (12 KiB at MR = 8), stays in L1 next to the B sliver rows that
 *    stream through; C is loaded and stored once per KC multiply-adds.
 *  - NC = 256: the packed B block, KC x NC = 384 KiB, sits in L2 with room to spare for the A
 *    slivers passing through; 256 is a multiple of every NR (32, 16, 8).
 *  - MC = 960: the packed A block (1.4 MiB) lives in L3; with MC >= the batch (128) and the
 *    im2col heights of the study's layers the B block is packed once per (KC, NC) block.
 *    960 is a multiple of every MR (8, 6, 4).
 * Measured on the study's product shapes (docs/performance.md): KC 192-256 with NC 512-1024, or the
 * B sliver kept in L1 while A slivers stream (loops swapped), ran 5-15 % slower.
 * The micro-kernels store edge tiles themselves (masked stores). When C has only one or two tiles
 * across, A is not packed: the micro-kernel reads it in place, with its strides.
 * Threads split C into one strip per thread along the dimension with more tiles; each thread packs
 * its own blocks into buffers it keeps between calls (no locks, no barriers).
 */
#define _POSIX_C_SOURCE 200112L
#include "own_sgemm.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define KC 384
#define NC 256
#define MC 960

typedef struct {
  float *a, *b;
  size_t a_len, b_len;
} pack_buffers;

/* Each thread (OpenMP keeps its pool) reuses its buffers: no allocation per product. */
static _Thread_local pack_buffers bufs;

static float *grow(float **p, size_t *len, size_t want) {
  if (*len >= want) return *p;
  free(*p);
  void *q = NULL;
  if (posix_memalign(&q, 64, want * sizeof(float)) != 0) q = NULL;
  *p = q;
  *len = q ? want : 0;
  return *p;
}

static inline int min_int(int a, int b) { return a < b ? a : b; }

/* Packs one sliver from a matrix read along its rows: dst[p * width + j] = src[p * ld + j] for
   p < kc, j < cols, zero past cols (A of a transposed op(A), B of an untransposed op(B)). */
static void pack_along(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst) {
  for (int p = 0; p < kc; p++, src += ld, dst += width) {
    if (cols >= 16)
      memcpy(dst, src, sizeof(float) * cols); /* glibc's memcpy uses the CPU's widest vectors */
    else
      for (int j = 0; j < cols; j++) dst[j] = src[j]; /* cheaper than a call for a few floats */
    for (int j = cols; j < width; j++) dst[j] = 0.f;
  }
}

/* The portable pack_fn (micro.h): dst[p * width + j] = src[j * ld + p], zero past cols. */
static void pack_across(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst) {
  for (int j = 0; j < cols; j++)
    for (int p = 0; p < kc; p++) dst[(size_t)p * width + j] = src[j * ld + p];
  for (int p = 0; p < kc; p++)
    for (int j = cols; j < width; j++) dst[(size_t)p * width + j] = 0.f;
}

/* C = beta C for a product with nothing to add (k == 0 or alpha == 0); beta == 0 writes zeros. */
static void scale_c(int m, int n, float beta, float *c, int ldc) {
  for (int i = 0; i < m; i++) {
    float *ci = c + (size_t)i * ldc;
    if (beta == 0.f)
      memset(ci, 0, sizeof(float) * n);
    else if (beta != 1.f)
      for (int j = 0; j < n; j++) ci[j] *= beta;
  }
}

/* Width of the B sliver that starts `left` columns before the end of C: the wide tile, or the
   narrow one when the rest fits it (n = 100 is 3 wide slivers and a narrow one: fewer idle lanes). */
static inline int sliver_width(const micro_kernel *mk, int left) {
  return left < mk->nr && left <= mk->nr_narrow ? mk->nr_narrow : mk->nr;
}

/* One thread's product over its strip of C. Returns -1 when its buffers cannot be allocated. */
static int gemm_strip(const micro_kernel *mk, int ta, int tb, int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  const int mr = mk->mr, nr = mk->nr;
  const pack_fn across = mk->pack_across ? mk->pack_across : pack_across;
  const pack_fn along = mk->pack_along ? mk->pack_along : pack_along;
  /* An A sliver is used by n / NR tiles: with two or fewer, packing it costs more than it saves. */
  const int pack_a = n > 2 * nr;
  const int kc_max = min_int(k, KC);
  const int mc_max = (min_int(m, MC) + mr - 1) / mr * mr, nc_max = (min_int(n, NC) + nr - 1) / nr * nr;
  float *ap = pack_a ? grow(&bufs.a, &bufs.a_len, (size_t)mc_max * kc_max) : NULL;
  float *bp = grow(&bufs.b, &bufs.b_len, (size_t)nc_max * kc_max);
  if ((pack_a && !ap) || !bp) return -1;
  const ptrdiff_t rsa = ta ? 1 : lda, csa = ta ? lda : 1; /* op(A)[i][p] = a[i * rsa + p * csa] */
  const ptrdiff_t rsb = tb ? 1 : ldb, csb = tb ? ldb : 1; /* op(B)[p][j] = b[p * rsb + j * csb] */
  for (int ic = 0; ic < m; ic += MC) {
    const int mc = min_int(MC, m - ic);
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = min_int(KC, k - pc);
      const float *ablock = a + (ptrdiff_t)ic * rsa + (ptrdiff_t)pc * csa;
      if (pack_a)
        for (int ir = 0; ir < mc; ir += mr) {
          const float *src = ablock + (ptrdiff_t)ir * rsa;
          if (ta)
            along(src, lda, kc, min_int(mr, mc - ir), mr, ap + (size_t)ir * kc);
          else
            across(src, lda, kc, min_int(mr, mc - ir), mr, ap + (size_t)ir * kc);
        }
      const float bet = pc == 0 ? beta : 1.f; /* later inner blocks add to what the first wrote */
      for (int jc = 0; jc < n; jc += NC) {
        const int nc = min_int(NC, n - jc);
        for (int jr = 0; jr < nc; jr += nr) {
          const float *src = b + (ptrdiff_t)pc * rsb + (ptrdiff_t)(jc + jr) * csb;
          const int cols = min_int(nr, nc - jr), width = sliver_width(mk, n - jc - jr);
          if (tb)
            across(src, ldb, kc, cols, width, bp + (size_t)jr * kc);
          else
            along(src, ldb, kc, cols, width, bp + (size_t)jr * kc);
        }
        for (int ir = 0; ir < mc; ir += mr) {
          const int rows = min_int(mr, mc - ir);
          float *crow = c + (size_t)(ic + ir) * ldc + jc;
          for (int jr = 0; jr < nc; jr += nr) {
            const int cols = min_int(nr, nc - jr), narrow = sliver_width(mk, n - jc - jr) != nr;
            const float *bs = bp + (size_t)jr * kc;
            if (pack_a)
              (narrow ? mk->narrow_packed : mk->packed)(kc, alpha, ap + (size_t)ir * kc, 1, mr, bs, bet, crow + jr, ldc,
                                                        rows, cols);
            else
              (narrow ? mk->narrow_strided : mk->strided)(kc, alpha, ablock + (ptrdiff_t)ir * rsa, rsa, csa, bs, bet,
                                                          crow + jr, ldc, rows, cols);
          }
        }
      }
    }
  }
  return 0;
}

int own_sgemm(const micro_kernel *mk, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc, int threads) {
  if (m <= 0 || n <= 0) return 0;
  if (k <= 0 || alpha == 0.f) {
    scale_c(m, n, beta, c, ldc);
    return 0;
  }
  const int nr = n <= mk->nr_narrow ? mk->nr_narrow : mk->nr;
  const int tiles_m = (m + mk->mr - 1) / mk->mr, tiles_n = (n + nr - 1) / nr;
  const int split_n = tiles_n >= tiles_m;
  const int tiles = split_n ? tiles_n : tiles_m;
  if (threads > tiles) threads = tiles;
  if (threads <= 1) return gemm_strip(mk, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  int failed = 0;
#pragma omp parallel num_threads(threads) reduction(| : failed)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    /* strip t: tiles [t*tiles/nt, (t+1)*tiles/nt) of the split dimension */
    const int unit = split_n ? nr : mk->mr, len = split_n ? n : m;
    const int lo = min_int(len, (int)((long)tiles * t / nt) * unit);
    const int hi = min_int(len, (int)((long)tiles * (t + 1) / nt) * unit);
    if (hi > lo) {
      if (split_n)
        failed |= gemm_strip(mk, ta, tb, m, hi - lo, k, alpha, a, lda, tb ? b + (size_t)lo * ldb : b + lo, ldb,
                             beta, c + lo, ldc);
      else
        failed |= gemm_strip(mk, ta, tb, hi - lo, n, k, alpha, ta ? a + lo : a + (size_t)lo * lda, lda, b, ldb,
                             beta, c + (size_t)lo * ldc, ldc);
    }
  }
  return failed ? -1 : 0;
}
