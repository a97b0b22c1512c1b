/* The AVX-512 micro-kernels: 8 x 32 (16 zmm accumulators, 2 for the B row, broadcasts of A) and
   8 x 16 for narrow C, with masked loads and stores for edge tiles. Compiled for AVX-512F through
   target attributes and only called after __builtin_cpu_supports says the CPU (and the OS, which
   libgcc checks through XCR0) has it. */
#include "micro.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define VEC __m512
#define VLEN 16
#define V_ZERO _mm512_setzero_ps
#define V_SET1 _mm512_set1_ps
#define V_LOAD _mm512_load_ps
#define V_LOADU _mm512_loadu_ps
#define V_STOREU _mm512_storeu_ps
#define V_FMADD _mm512_fmadd_ps
#define V_MUL _mm512_mul_ps
#define V_LOAD_COLS(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define V_STORE_COLS(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)

#include "micro_x86.h"

KERNEL(k8x32, 8, 2)
KERNEL(k8x16, 8, 1)

static const micro_kernel avx512 = {"avx512",     "AVX-512",    8, 32, k8x32_packed, k8x32_strided, 16,
                                    k8x16_packed, k8x16_strided, pack_across_avx2, pack_along_avx2};

const micro_kernel *micro_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? &avx512 : NULL;
}
#else
const micro_kernel *micro_avx512(void) { return NULL; }
#endif
