/*
 * The body of the x86 micro-kernels, included by micro_avx2.c and micro_avx512.c with
 *   VEC, VLEN         the vector type and its floats (__m256 / 8, __m512 / 16)
 *   V_ZERO, V_SET1, V_LOAD (aligned), V_LOADU, V_STOREU, V_FMADD, V_MUL   its intrinsics
 *   V_LOAD_COLS(p, cols), V_STORE_COLS(p, v, cols)   loads / stores of the first `cols` lanes
 *   TARGET            the function attribute that enables the ISA
 * and defines KERNEL(name, MR, NV): a tile of MR rows x NV vectors, as the packed and the strided
 * entry points name##_packed and name##_strided (see micro.h).
 */

#define KERNEL(name, MR, NV)                                                                                          \
  TARGET static inline __attribute__((always_inline)) void name##_body(                                              \
      int kc, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa, int rows_a, const float *b, float beta,    \
      float *c, ptrdiff_t ldc, int rows, int cols) {                                                                 \
    ptrdiff_t off[MR];                                                                                               \
    for (int i = 0; i < MR; i++) off[i] = (i < rows_a ? i : 0) * rsa;                                               \
    VEC acc[MR][NV];                                                                                                 \
    _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)      \
        acc[i][v] = V_ZERO();                                                                                        \
    for (int p = 0; p < kc; p++, a += csa, b += NV * VLEN) {                                                         \
      VEC bv[NV];                                                                                                    \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] = V_LOAD(b + v * VLEN);                            \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) {                                                        \
        const VEC ai = V_SET1(a[off[i]]);                                                                            \
        _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) acc[i][v] = V_FMADD(ai, bv[v], acc[i][v]);             \
      }                                                                                                              \
    }                                                                                                                \
    const VEC va = V_SET1(alpha), vb = V_SET1(beta);                                                                 \
    if (rows == MR && cols == NV * VLEN) {                                                                           \
      _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++) _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {  \
        float *cp = c + i * ldc + v * VLEN;                                                                          \
        const VEC r = V_MUL(va, acc[i][v]);                                                                          \
        V_STOREU(cp, beta == 0.f ? r : V_FMADD(vb, V_LOADU(cp), r));                                                 \
      }                                                                                                              \
      return;                                                                                                        \
    }                                                                                                                \
    for (int i = 0; i < rows; i++)                                                                                   \
      for (int v = 0; v < NV; v++) {                                                                                 \
        const int n = cols - v * VLEN;                                                                               \
        if (n <= 0) break;                                                                                           \
        float *cp = c + i * ldc + v * VLEN;                                                                          \
        const VEC r = V_MUL(va, acc[i][v]);                                                                          \
        if (n >= VLEN)                                                                                               \
          V_STOREU(cp, beta == 0.f ? r : V_FMADD(vb, V_LOADU(cp), r));                                               \
        else                                                                                                         \
          V_STORE_COLS(cp, beta == 0.f ? r : V_FMADD(vb, V_LOAD_COLS(cp, n), r), n);                                 \
      }                                                                                                              \
  }                                                                                                                  \
  TARGET static void name##_packed(int kc, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,               \
                                   const float *b, float beta, float *c, ptrdiff_t ldc, int rows, int cols) {       \
    (void)rsa;                                                                                                       \
    (void)csa;                                                                                                       \
    name##_body(kc, alpha, a, 1, MR, MR, b, beta, c, ldc, rows, cols);                                               \
  }                                                                                                                  \
  TARGET static void name##_strided(int kc, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,              \
                                    const float *b, float beta, float *c, ptrdiff_t ldc, int rows, int cols) {      \
    name##_body(kc, alpha, a, rsa, csa, rows, b, beta, c, ldc, rows, cols);                                          \
  }
