/* The portable micro-kernel: plain C that the compiler vectorises for the build's baseline ISA
   (SSE2 on x86-64, NEON on arm64); 4 x 8 accumulators fit in 16 registers of 128 bits. */
#include "micro.h"

#define MR 4
#define NR 8

/* rows_a: rows of A that may be read (A rows past it are read as row 0, whose results are dropped) */
static inline __attribute__((always_inline)) void body(int kc, float alpha, const float *a, ptrdiff_t rsa,
                                                       ptrdiff_t csa, int rows_a, const float *b, float beta,
                                                       float *c, ptrdiff_t ldc, int rows, int cols) {
  ptrdiff_t off[MR];
  for (int i = 0; i < MR; i++) off[i] = (i < rows_a ? i : 0) * rsa;
  float acc[MR][NR] = {{0}};
  for (int p = 0; p < kc; p++, a += csa, b += NR) {
#pragma GCC unroll 4
    for (int i = 0; i < MR; i++) {
      const float ai = a[off[i]];
#pragma GCC unroll 8
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
  }
  for (int i = 0; i < rows; i++) {
    float *ci = c + i * ldc;
    if (beta == 0.f)
      for (int j = 0; j < cols; j++) ci[j] = alpha * acc[i][j];
    else
      for (int j = 0; j < cols; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
  }
}

static void packed(int kc, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, float beta,
                   float *c, ptrdiff_t ldc, int rows, int cols) {
  (void)rsa;
  (void)csa;
  body(kc, alpha, a, 1, MR, MR, b, beta, c, ldc, rows, cols);
}

static void strided(int kc, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, const float *b, float beta,
                    float *c, ptrdiff_t ldc, int rows, int cols) {
  body(kc, alpha, a, rsa, csa, rows, b, beta, c, ldc, rows, cols);
}

static const micro_kernel portable = {"portable", "portable C", MR, NR, packed, strided, 0, NULL, NULL, NULL, NULL};

const micro_kernel *micro_portable(void) { return &portable; }
