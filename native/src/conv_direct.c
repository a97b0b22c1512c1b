/*
 * Direct convolutions for layers with few output channels (the paper's CNNs have 6-20), where
 * im2col + sgemm is memory bound: the column matrix of a 5x5 window is 25x the input.
 *
 * Each image is first copied into a zero-padded buffer, so every window read is in bounds. For a
 * fixed kernel row ky the window of output pixel ox is then one contiguous run of kw*c floats that
 * starts at ox*sw*c: the products below read those runs in place (an implicit im2col).
 * Register tiles: R output pixels x NV vectors of 8 output channels (forward), or KB window
 * entries x NV vectors (filter gradient); channels are padded to a multiple of 8 in scratch.
 */
#include "conv_direct.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#else
#define omp_get_thread_num() 0 /* built without OpenMP (Apple's clang): one thread */
#endif

typedef float v8 __attribute__((vector_size(32)));
typedef int vi8 __attribute__((vector_size(32)));

#define ROUND_UP(a, b) (((a) + (b)-1) / (b) * (b))

/* Padded-image layout shared by the forward pass and the filter gradient. */
typedef struct {
  int hp;     /* rows: (oh-1)*sh + kh */
  int rowlen; /* floats per row: room for the widest window run plus `slack` */
} padded_layout;

/* One copy compiled for AVX2 + FMA (chosen at run time when the CPU has them), one portable. */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_COPY 1
#define SFX(name) name##_avx2
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "conv_direct_impl.h"
#pragma GCC pop_options
#undef SFX
#endif

#define SFX(name) name##_base
#include "conv_direct_impl.h"
#undef SFX

static int use_avx2(void) {
#ifdef HAVE_AVX2_COPY
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return cached;
#else
  return 0;
#endif
}

#ifdef HAVE_AVX2_COPY
#define DISPATCH(fn, ...) (use_avx2() ? fn##_avx2(__VA_ARGS__) : fn##_base(__VA_ARGS__))
#else
#define DISPATCH(fn, ...) fn##_base(__VA_ARGS__)
#endif

int conv_direct_forward(const float *x, const float *w, const float *bias, int relu, float *y, int cout,
                        const window_geom *g, int threads) {
  return DISPATCH(conv_direct_forward, x, w, bias, relu, y, cout, g, threads);
}

int conv_direct_filter_grad(const float *x, const float *dy, float *dw, int cout, const window_geom *g,
                            int threads) {
  return DISPATCH(conv_direct_filter_grad, x, dy, dw, cout, g, threads);
}

int conv_direct_input_grad(const float *dy, const float *w, float *dx, int cout, const window_geom *g,
                           int threads) {
  return DISPATCH(conv_direct_input_grad, dy, w, dx, cout, g, threads);
}
