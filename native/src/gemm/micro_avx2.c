/* The AVX2 + FMA micro-kernels: 6 x 16 (12 ymm accumulators, 2 for the B row, 1 broadcast) and
   6 x 8 for narrow C. Compiled for AVX2 + FMA through target attributes and only called after
   __builtin_cpu_supports says the CPU has both, so a portable build runs on any x86-64. */
#include "micro.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define VEC __m256
#define VLEN 8
#define V_ZERO _mm256_setzero_ps
#define V_SET1 _mm256_set1_ps
#define V_LOAD _mm256_load_ps
#define V_LOADU _mm256_loadu_ps
#define V_STOREU _mm256_storeu_ps
#define V_FMADD _mm256_fmadd_ps
#define V_MUL _mm256_mul_ps

/* lanes [0, n) of a mask: all bits set where the lane index is below n */
TARGET static inline __m256i lanes(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define V_LOAD_COLS(p, n) _mm256_maskload_ps(p, lanes(n))
#define V_STORE_COLS(p, v, n) _mm256_maskstore_ps(p, lanes(n), v)

#include "micro_x86.h"

KERNEL(k6x16, 6, 2)
KERNEL(k6x8, 6, 1)

/* Transposes the 8 x 8 block src[r * lds + c] into dst[c * ldd + r]. */
TARGET static inline void transpose8(const float *src, ptrdiff_t lds, float *dst, ptrdiff_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      r[4 * i + j] = _mm256_shuffle_ps(t[4 * i + j], t[4 * i + j + 2], 0x44);
      r[4 * i + j + 2] = _mm256_shuffle_ps(t[4 * i + j], t[4 * i + j + 2], 0xEE);
    }
  /* r[0..3] hold rows 0-3 and r[4..7] rows 4-7 of the result, each as two 128-bit halves */
  const int order[4] = {0, 2, 1, 3};
  for (int i = 0; i < 4; i++) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[order[i]], r[4 + order[i]], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[order[i]], r[4 + order[i]], 0x31));
  }
}

TARGET void pack_across_avx2(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst) {
  const int cols8 = cols / 8 * 8, kc8 = kc / 8 * 8;
  for (int j = 0; j < cols8; j += 8) {
    const float *s = src + j * ld;
    for (int p = 0; p < kc8; p += 8) transpose8(s + p, ld, dst + (size_t)p * width + j, width);
    for (int p = kc8; p < kc; p++)
      for (int q = 0; q < 8; q++) dst[(size_t)p * width + j + q] = s[q * ld + p];
  }
  for (int j = cols8; j < cols; j++)
    for (int p = 0; p < kc; p++) dst[(size_t)p * width + j] = src[j * ld + p];
  for (int p = 0; p < kc; p++)
    for (int j = cols; j < width; j++) dst[(size_t)p * width + j] = 0.f;
}

#ifndef PACK_AHEAD
#define PACK_AHEAD 8
#endif

/* dst[p * width + j] = src[p * ld + j] for j < cols, zero past cols; width a multiple of 8 (else the
   portable loop runs: a whole-vector store would run past the sliver). */
TARGET void pack_along_avx2(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst) {
  if (width % 8 != 0) {
    for (int p = 0; p < kc; p++, src += ld, dst += width)
      for (int j = 0; j < width; j++) dst[j] = j < cols ? src[j] : 0.f;
    return;
  }
  const int cols8 = cols / 8 * 8, rest = cols - cols8;
  const __m256i tail = lanes(rest);
  for (int p = 0; p < kc; p++, src += ld, dst += width) {
    /* the rows of a wide B lie far apart in memory: fetch a later row while this one is copied */
    if (p + PACK_AHEAD < kc)
      for (int j = 0; j < cols; j += 16) _mm_prefetch((const char *)(src + PACK_AHEAD * ld + j), _MM_HINT_T0);
    int j = 0;
    for (; j < cols8; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    if (rest) {
      _mm256_storeu_ps(dst + j, _mm256_maskload_ps(src + j, tail));
      j += 8;
    }
    for (; j < width; j += 8) _mm256_storeu_ps(dst + j, _mm256_setzero_ps());
  }
}

static const micro_kernel avx2 = {"avx2",          "AVX2+FMA",         6, 16, k6x16_packed, k6x16_strided, 8,
                                  k6x8_packed, k6x8_strided, pack_across_avx2, pack_along_avx2};

const micro_kernel *micro_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &avx2 : NULL;
}
#else
const micro_kernel *micro_avx2(void) { return NULL; }
void pack_across_avx2(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst) {
  (void)src, (void)ld, (void)kc, (void)cols, (void)width, (void)dst;
}
void pack_along_avx2(const float *src, ptrdiff_t ld, int kc, int cols, int width, float *dst) {
  (void)src, (void)ld, (void)kc, (void)cols, (void)width, (void)dst;
}
#endif
