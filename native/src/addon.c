/*
 * poisonlab native addon: a matrix product (the project's own packed kernel or the system BLAS,
 * see gemm/) and conv/pool loops that run directly on the tfjs wasm heap. JS passes the wasm memory's ArrayBuffer plus byte offsets, so no data
 * is copied. Every entry point checks that the regions it touches lie inside the buffer.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>

#include "conv_direct.h"
#include "conv_ops.h"
#include "gemm/gemm.h"
#include "two_layer.h"

#define MAX_ARGS 20

typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[MAX_ARGS];
  uint8_t *base;
  size_t len;
  int failed;
} call_ctx;

static int fail(call_ctx *c, const char *msg) {
  if (!c->failed) napi_throw_range_error(c->env, NULL, msg);
  c->failed = 1;
  return 0;
}

/* Read the call's arguments; argument 0 must be the wasm heap's ArrayBuffer. */
static int begin(call_ctx *c, napi_env env, napi_callback_info info, size_t want) {
  c->env = env;
  c->argc = MAX_ARGS;
  c->failed = 0;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok || c->argc < want)
    return fail(c, "poisonlab_native: wrong number of arguments");
  void *data = NULL;
  if (napi_get_arraybuffer_info(env, c->argv[0], &data, &c->len) != napi_ok)
    return fail(c, "poisonlab_native: argument 0 must be an ArrayBuffer");
  c->base = (uint8_t *)data;
  return 1;
}

static double num(call_ctx *c, size_t i) {
  double v = 0;
  if (napi_get_value_double(c->env, c->argv[i], &v) != napi_ok) fail(c, "poisonlab_native: expected a number");
  return v;
}

/* Pointer to `count` floats at byte offset argument i, or NULL after throwing when out of range. */
static float *region(call_ctx *c, size_t i, double count) {
  const double off = num(c, i);
  if (c->failed) return NULL;
  if (off < 0 || ((uint64_t)off & 3) != 0 || off + count * 4.0 > (double)c->len) {
    fail(c, "poisonlab_native: region outside the wasm heap");
    return NULL;
  }
  return (float *)(c->base + (size_t)off);
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* Threads wanted by the caller, and the count the matrix product currently has. */
static int max_threads = 1, cur_threads = -1;
/* Below this many multiply-adds a product runs on one thread (setThreads' second argument): on a quiet
   2-core machine a second thread already pays off on the CNNs' 41M-MAC dense products (mnist m1000 8.3 -> 6.4 ms). */
static double multi_thread_macs = 1.0e7;

static void use_threads_for(double macs) {
  const int want = macs < multi_thread_macs ? 1 : max_threads;
  if (want != cur_threads) {
    gemm_set_threads(want);
    cur_threads = want;
  }
}

static napi_value gemm_result(call_ctx *c, int rc) {
  if (rc != 0) fail(c, "poisonlab_native: out of memory in a matrix product");
  return c->failed ? NULL : undefined(c->env);
}

/* sgemm(buf, transA, transB, M, N, K, aOff, lda, bOff, ldb, beta, cOff, ldc, alpha = 1):
   C = alpha op(A) op(B) + beta C. */
static napi_value js_sgemm(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 13)) return NULL;
  const int ta = num(&c, 1) != 0, tb = num(&c, 2) != 0;
  const int m = (int)num(&c, 3), n = (int)num(&c, 4), k = (int)num(&c, 5);
  const int lda = (int)num(&c, 7), ldb = (int)num(&c, 9), ldc = (int)num(&c, 12);
  const float beta = (float)num(&c, 10), alpha = c.argc > 13 ? (float)num(&c, 13) : 1.0f;
  const double aRows = ta ? k : m, bRows = tb ? n : k;
  float *a = region(&c, 6, aRows * lda), *b = region(&c, 8, bRows * ldb), *out = region(&c, 11, (double)m * ldc);
  if (c.failed) return NULL;
  if (m == 0 || n == 0) return undefined(env);
  use_threads_for((double)m * n * k);
  return gemm_result(&c, gemm_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc));
}

/* Reads the window geometry from arguments first..first+12. */
static window_geom geom(call_ctx *c, size_t first) {
  window_geom g;
  int *f[] = {&g.n, &g.h, &g.w, &g.c, &g.kh, &g.kw, &g.sh, &g.sw, &g.pad_top, &g.pad_left, &g.oh, &g.ow};
  for (size_t i = 0; i < 12; i++) *f[i] = (int)num(c, first + i);
  return g;
}

#define IN_SIZE(g) ((double)(g).n * (g).h * (g).w * (g).c)
#define COL_SIZE(g) ((double)(g).n * (g).oh * (g).ow * (g).kh * (g).kw * (g).c)
#define OUT_SIZE(g) ((double)(g).n * (g).oh * (g).ow * (g).c)

/* im2col(buf, xOff, colOff, ...geometry) */
static napi_value js_im2col(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 15)) return NULL;
  window_geom g = geom(&c, 3);
  float *x = region(&c, 1, IN_SIZE(g)), *col = region(&c, 2, COL_SIZE(g));
  if (c.failed) return NULL;
  im2col(x, col, &g);
  return undefined(env);
}

/* col2im(buf, colOff, dxOff, ...geometry) */
static napi_value js_col2im(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 15)) return NULL;
  window_geom g = geom(&c, 3);
  float *col = region(&c, 1, COL_SIZE(g)), *dx = region(&c, 2, IN_SIZE(g));
  if (c.failed) return NULL;
  col2im(col, dx, &g);
  return undefined(env);
}

/* maxPool(buf, xOff, yOff, ...geometry) */
static napi_value js_max_pool(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 15)) return NULL;
  window_geom g = geom(&c, 3);
  float *x = region(&c, 1, IN_SIZE(g)), *y = region(&c, 2, OUT_SIZE(g));
  if (c.failed) return NULL;
  max_pool(x, y, &g);
  return undefined(env);
}

/* maxPoolGrad(buf, xOff, dyOff, dxOff, ...geometry) */
static napi_value js_max_pool_grad(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 16)) return NULL;
  window_geom g = geom(&c, 4);
  float *x = region(&c, 1, IN_SIZE(g)), *dy = region(&c, 2, OUT_SIZE(g)), *dx = region(&c, 3, IN_SIZE(g));
  if (c.failed) return NULL;
  max_pool_grad(x, dy, dx, &g);
  return undefined(env);
}

#define OUT_CH_SIZE(g, cout) ((double)(g).n * (g).oh * (g).ow * (cout))
#define FILTER_SIZE(g, cout) ((double)(g).kh * (g).kw * (g).c * (cout))

/* Threads for a direct convolution: it splits the batch into equal parts with no shared data,
   so a second thread pays off from ~2e6 multiply-adds (measured: 1.8x at 2e7). */
static int conv_threads(const window_geom *g, int cout) {
  const double macs = (double)g->n * g->oh * g->ow * g->kh * g->kw * g->c * cout;
  return macs < 2.0e6 ? 1 : max_threads;
}

static napi_value direct_result(call_ctx *c, int rc) {
  if (rc == -1) fail(c, "poisonlab_native: out of memory in a direct convolution");
  return c->failed ? NULL : undefined(c->env);
}

/* convForward(buf, xOff, wOff, biasOff | -1, relu, yOff, cout, ...geometry): y = act(conv2d(x, w) + bias),
   act = relu when relu != 0; no im2col. */
static napi_value js_conv_forward(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 19)) return NULL;
  const int relu = num(&c, 4) != 0, cout = (int)num(&c, 6);
  window_geom g = geom(&c, 7);
  float *x = region(&c, 1, IN_SIZE(g)), *w = region(&c, 2, FILTER_SIZE(g, cout)),
        *bias = num(&c, 3) < 0 ? NULL : region(&c, 3, cout), *y = region(&c, 5, OUT_CH_SIZE(g, cout));
  if (c.failed) return NULL;
  return direct_result(&c, conv_direct_forward(x, w, bias, relu, y, cout, &g, conv_threads(&g, cout)));
}

/* convFilterGrad(buf, xOff, dyOff, dwOff, cout, ...geometry): dw of conv2d, no im2col. */
static napi_value js_conv_filter_grad(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 17)) return NULL;
  const int cout = (int)num(&c, 4);
  window_geom g = geom(&c, 5);
  float *x = region(&c, 1, IN_SIZE(g)), *dy = region(&c, 2, OUT_CH_SIZE(g, cout)),
        *dw = region(&c, 3, FILTER_SIZE(g, cout));
  if (c.failed) return NULL;
  return direct_result(&c, conv_direct_filter_grad(x, dy, dw, cout, &g, conv_threads(&g, cout)));
}

/* convInputGrad(buf, dyOff, wOff, dxOff, cout, ...geometry): dx of conv2d, no col2im. */
static napi_value js_conv_input_grad(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 17)) return NULL;
  const int cout = (int)num(&c, 4);
  window_geom g = geom(&c, 5);
  float *dy = region(&c, 1, OUT_CH_SIZE(g, cout)), *w = region(&c, 2, FILTER_SIZE(g, cout)),
        *dx = region(&c, 3, IN_SIZE(g));
  if (c.failed) return NULL;
  return direct_result(&c, conv_direct_input_grad(dy, w, dx, cout, &g, conv_threads(&g, cout)));
}

/* biasAct(buf, yOff, rows, cols, biasOff | -1, act, alpha, preluOff | -1, preluLen) */
static napi_value js_bias_act(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 9)) return NULL;
  const int rows = (int)num(&c, 2), cols = (int)num(&c, 3), act = (int)num(&c, 5), plen = (int)num(&c, 8);
  const float alpha = (float)num(&c, 6);
  float *y = region(&c, 1, (double)rows * cols);
  float *bias = num(&c, 4) < 0 ? NULL : region(&c, 4, cols);
  float *prelu = num(&c, 7) < 0 ? NULL : region(&c, 7, plen);
  if (c.failed) return NULL;
  if (act == ACT_PRELU && !prelu) {
    fail(&c, "poisonlab_native: prelu activation needs weights");
    return NULL;
  }
  bias_act(y, rows, cols, bias, act, alpha, prelu, plen);
  return undefined(env);
}

/* biasAdd(buf, xOff, biasOff, yOff, rows, cols): y[r, j] = x[r, j] + bias[j] in one pass. */
static napi_value js_bias_add(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 6)) return NULL;
  const int rows = (int)num(&c, 4), cols = (int)num(&c, 5);
  float *x = region(&c, 1, (double)rows * cols), *bias = region(&c, 2, cols), *y = region(&c, 3, (double)rows * cols);
  if (c.failed) return NULL;
  bias_add(x, bias, y, rows, cols);
  return undefined(env);
}

/* sgd(buf, outWOff, outVOff, wOff, gOff, vOff, n, lr, momentum, weightDecay); v offsets unused without momentum */
static napi_value js_sgd(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 10)) return NULL;
  const double n = num(&c, 6);
  const float lr = (float)num(&c, 7), momentum = (float)num(&c, 8), wd = (float)num(&c, 9);
  float *ow = region(&c, 1, n), *w = region(&c, 3, n), *g = region(&c, 4, n);
  float *ov = momentum > 0.f ? region(&c, 2, n) : NULL, *v = momentum > 0.f ? region(&c, 5, n) : NULL;
  if (c.failed) return NULL;
  sgd_update(ow, ov, w, g, v, (size_t)n, lr, momentum, wd);
  return undefined(env);
}

/* twoLayerStep(buf, xOff, yOff, wOff, aOff, hOff, batch, d, m, lr, scale) -> [summed loss, correct]:
   one fused SGD step of the two-layer net, W updated in place (two_layer.c). */
static napi_value js_two_layer_step(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 11)) return NULL;
  const int batch = (int)num(&c, 6), d = (int)num(&c, 7), m = (int)num(&c, 8);
  const float lr = (float)num(&c, 9), scale = (float)num(&c, 10);
  float *x = region(&c, 1, (double)batch * d), *w = region(&c, 3, (double)d * m), *a = region(&c, 4, m),
        *h = region(&c, 5, (double)batch * m);
  int32_t *y = (int32_t *)region(&c, 2, batch);
  if (c.failed) return NULL;
  double out[2];
  use_threads_for((double)batch * d * m);
  if (two_layer_step(x, y, w, a, h, batch, d, m, lr, scale, out) != 0) return gemm_result(&c, -1);
  napi_value arr, v;
  napi_create_array_with_length(env, 2, &arr);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_double(env, out[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

/* flipFilter(buf, wOff, outOff, kh, kw, c, cout) */
static napi_value js_flip_filter(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 7)) return NULL;
  const int kh = (int)num(&c, 3), kw = (int)num(&c, 4), ch = (int)num(&c, 5), cout = (int)num(&c, 6);
  const double size = (double)kh * kw * ch * cout;
  float *w = region(&c, 1, size), *out = region(&c, 2, size);
  if (c.failed) return NULL;
  flip_filter(w, out, kh, kw, ch, cout);
  return undefined(env);
}

/* colSum(buf, xOff, outOff, rows, cols) */
static napi_value js_col_sum(napi_env env, napi_callback_info info) {
  call_ctx c;
  if (!begin(&c, env, info, 5)) return NULL;
  const int rows = (int)num(&c, 3), cols = (int)num(&c, 4);
  float *x = region(&c, 1, (double)rows * cols), *out = region(&c, 2, cols);
  if (c.failed) return NULL;
  col_sum(x, out, rows, cols);
  return undefined(env);
}

/* setThreads(n, minMacs?): at most n threads per product; products under minMacs multiply-adds use one. */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double n = 0, macs = multi_thread_macs;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_double(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, NULL, "poisonlab_native: setThreads expects a positive number");
    return NULL;
  }
  if (argc >= 2 && (napi_get_value_double(env, argv[1], &macs) != napi_ok || macs < 0)) {
    napi_throw_range_error(env, NULL, "poisonlab_native: setThreads' minMacs must be a number >= 0");
    return NULL;
  }
  multi_thread_macs = macs;
  max_threads = (int)n;
  cur_threads = -1;
  use_threads_for(1e30);
  return undefined(env);
}

static napi_value js_get_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, max_threads, &v);
  return v;
}

/* config(): the system BLAS's build string ("OpenBLAS 0.3.21 ... Haswell ...", "Accelerate"), or "" without one. */
static napi_value js_config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  const char *config = gemm_system_config();
  napi_create_string_utf8(env, config ? config : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

/* gemm(choice?): selects the matrix product when given a choice (see gemm_select in gemm/gemm.h);
   returns the one in use, e.g. "own packed AVX-512 (8x32)". */
static napi_value js_gemm(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, v;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  if (argc >= 1) {
    char choice[32];
    size_t len = 0;
    if (napi_get_value_string_utf8(env, arg, choice, sizeof(choice), &len) != napi_ok || gemm_select(choice) != 0) {
      napi_throw_range_error(env, NULL, "poisonlab_native: gemm expects one of gemmChoices(), 'own' or 'auto'");
      return NULL;
    }
    cur_threads = -1; /* the newly chosen product learns the thread count at the next call */
  }
  napi_create_string_utf8(env, gemm_describe(), NAPI_AUTO_LENGTH, &v);
  return v;
}

/* gemmChoices(): the products gemm() accepts besides 'own' and 'auto' in this build on this CPU. */
static napi_value js_gemm_choices(napi_env env, napi_callback_info info) {
  (void)info;
  const char *names[8];
  const size_t n = gemm_choices(names, 8);
  napi_value arr, v;
  napi_create_array_with_length(env, n, &arr);
  for (size_t i = 0; i < n; i++) {
    napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, arr, (uint32_t)i, v);
  }
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, js_sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"im2col", NULL, js_im2col, NULL, NULL, NULL, napi_default, NULL},
      {"col2im", NULL, js_col2im, NULL, NULL, NULL, napi_default, NULL},
      {"convForward", NULL, js_conv_forward, NULL, NULL, NULL, napi_default, NULL},
      {"convFilterGrad", NULL, js_conv_filter_grad, NULL, NULL, NULL, napi_default, NULL},
      {"convInputGrad", NULL, js_conv_input_grad, NULL, NULL, NULL, napi_default, NULL},
      {"maxPool", NULL, js_max_pool, NULL, NULL, NULL, napi_default, NULL},
      {"maxPoolGrad", NULL, js_max_pool_grad, NULL, NULL, NULL, napi_default, NULL},
      {"twoLayerStep", NULL, js_two_layer_step, NULL, NULL, NULL, napi_default, NULL},
      {"sgd", NULL, js_sgd, NULL, NULL, NULL, napi_default, NULL},
      {"flipFilter", NULL, js_flip_filter, NULL, NULL, NULL, napi_default, NULL},
      {"biasAdd", NULL, js_bias_add, NULL, NULL, NULL, napi_default, NULL},
      {"biasAct", NULL, js_bias_act, NULL, NULL, NULL, napi_default, NULL},
      {"colSum", NULL, js_col_sum, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, js_get_threads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, js_config, NULL, NULL, NULL, napi_default, NULL},
      {"gemm", NULL, js_gemm, NULL, NULL, NULL, napi_default, NULL},
      {"gemmChoices", NULL, js_gemm_choices, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
