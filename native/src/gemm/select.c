/*
 * Which matrix product runs: the system BLAS (compiled in when binding.gyp defines
 * POISONLAB_OPENBLAS or POISONLAB_ACCELERATE) or the project's own kernel with the widest
 * micro-kernel this CPU runs.
 *
 * "auto" takes the system library when there is one and the own kernel otherwise, except for
 * narrow products (C at most as wide as the own kernel's narrow tile, 16 columns with AVX-512: a
 * classifier's 10 logits and their weight gradient), which the own kernel runs faster. On this
 * project's machine OpenBLAS (Haswell or Cooperlake kernels) and the own AVX-512 kernel are within
 * about 10 % of each other on the other products, OpenBLAS mostly ahead (docs/performance.md).
 */
#include "gemm.h"

#include <stdio.h>
#include <string.h>

#include "own_sgemm.h"

#if defined(POISONLAB_OPENBLAS)
#include <cblas.h>
#define SYSTEM_NAME "openblas"
#elif defined(POISONLAB_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define SYSTEM_NAME "accelerate"
#endif

static const micro_kernel *own_kernel; /* NULL: the system library runs the products */
static const micro_kernel *narrow_kernel; /* with the system library: the own kernel for narrow C, or NULL */
static int chosen;                     /* 0 until the first product or gemm_select */
static int threads = 1;
static char description[128];

static const micro_kernel *best_own(void) {
  const micro_kernel *k = micro_avx512();
  if (!k) k = micro_avx2();
  return k ? k : micro_portable();
}

#ifdef SYSTEM_NAME
/* ", own packed AVX-512 (8x16) for n <= 16" after the system library's name, when auto chose that */
static void describe_narrow(void) {
  if (!narrow_kernel) return;
  const size_t len = strlen(description);
  snprintf(description + len, sizeof(description) - len, ", own packed %s (%dx%d) for n <= %d", narrow_kernel->label,
           narrow_kernel->mr, narrow_kernel->nr_narrow, narrow_kernel->nr_narrow);
}
#endif

static void describe(void) {
  if (own_kernel) {
    snprintf(description, sizeof(description), "own packed %s (%dx%d)", own_kernel->label, own_kernel->mr,
             own_kernel->nr);
    return;
  }
#if defined(POISONLAB_OPENBLAS)
  /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21 <core>" */
  const char *config = openblas_get_config();
  int version_len = 0;
  const char *space = strchr(config, ' ');
  if (space && strncmp(config, "OpenBLAS", 8) == 0) {
    const char *end = strchr(space + 1, ' ');
    version_len = end ? (int)(end - config) : (int)strlen(config);
  }
  snprintf(description, sizeof(description), "%.*s %s", version_len ? version_len : 8,
           version_len ? config : "OpenBLAS", openblas_get_corename());
  describe_narrow();
#elif defined(POISONLAB_ACCELERATE)
  snprintf(description, sizeof(description), "Accelerate");
  describe_narrow();
#endif
}

static void apply_threads(void) {
#if defined(POISONLAB_OPENBLAS)
  if (!own_kernel) openblas_set_num_threads(threads);
#endif
}

static void choose_auto(void) {
#ifdef SYSTEM_NAME
  own_kernel = NULL;
  /* measured with the AVX-512 kernel only (docs/performance.md) */
  narrow_kernel = strcmp(best_own()->id, "avx512") == 0 ? best_own() : NULL;
#else
  own_kernel = best_own();
#endif
}

int gemm_select(const char *choice) {
  const micro_kernel *own = NULL;
  narrow_kernel = NULL;
  if (strcmp(choice, "auto") == 0) {
    choose_auto();
  } else if (strcmp(choice, "own") == 0) {
    own_kernel = best_own();
  } else if (strncmp(choice, "own-", 4) == 0) {
    const micro_kernel *(*all[])(void) = {micro_avx512, micro_avx2, micro_portable};
    for (size_t i = 0; !own && i < sizeof(all) / sizeof(all[0]); i++) {
      const micro_kernel *k = all[i]();
      if (k && strcmp(choice + 4, k->id) == 0) own = k;
    }
    if (!own) return -1;
    own_kernel = own;
#ifdef SYSTEM_NAME
  } else if (strcmp(choice, SYSTEM_NAME) == 0) {
    own_kernel = NULL;
#endif
  } else {
    return -1;
  }
  chosen = 1;
  describe();
  apply_threads();
  return 0;
}

static void ensure_chosen(void) {
  if (!chosen) gemm_select("auto");
}

const char *gemm_describe(void) {
  ensure_chosen();
  return description;
}

size_t gemm_choices(const char **names, size_t max) {
  static const char *own_names[] = {"own-avx512", "own-avx2", "own-portable"};
  const micro_kernel *(*all[])(void) = {micro_avx512, micro_avx2, micro_portable};
  size_t n = 0;
  for (size_t i = 0; i < 3 && n < max; i++)
    if (all[i]()) names[n++] = own_names[i];
#ifdef SYSTEM_NAME
  if (n < max) names[n++] = SYSTEM_NAME;
#endif
  return n;
}

const char *gemm_system_config(void) {
#if defined(POISONLAB_OPENBLAS)
  return openblas_get_config();
#elif defined(POISONLAB_ACCELERATE)
  return "Accelerate";
#else
  return NULL;
#endif
}

void gemm_set_threads(int n) {
  ensure_chosen();
  threads = n < 1 ? 1 : n;
  apply_threads();
}

int gemm_sgemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc) {
  ensure_chosen();
  /* k == 0 only scales C: done here, as cblas refuses the lda of 0 that a k = 0 product may bring */
  if (k <= 0) return own_sgemm(micro_portable(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1);
  if (narrow_kernel && n <= narrow_kernel->nr_narrow)
    return own_sgemm(narrow_kernel, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
  if (own_kernel) return own_sgemm(own_kernel, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
#if defined(POISONLAB_OPENBLAS) || defined(POISONLAB_ACCELERATE)
  if (m > 0 && n > 0)
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
                b, ldb, beta, c, ldc);
#endif
  return 0;
}
