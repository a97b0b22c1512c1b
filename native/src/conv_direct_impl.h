/*
 * Body of the direct convolutions (see conv_direct.c), included once per instruction set with
 * SFX(name) giving each copy its own names. Not a public header.
 */
static inline v8 SFX(ld)(const float *p) {
  v8 v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void SFX(st)(float *p, v8 v) { memcpy(p, &v, sizeof v); }
static inline v8 SFX(bc)(float s) { return (v8){s, s, s, s, s, s, s, s}; }

/* A short copy as a plain loop: a libc memcpy call per output pixel would cost more than the
   copy itself (the build passes -fno-tree-loop-distribute-patterns so it stays a loop). */
static inline void SFX(copy_floats)(float *restrict dst, const float *restrict src, int n) {
  for (int i = 0; i < n; i++) dst[i] = src[i];
}

/* Channel blocking: NV vectors of 8 channels per tile; coutp = cout rounded up to a multiple of 8*NV. */
static int SFX(vectors_for)(int cout) { return cout <= 8 ? 1 : cout <= 16 ? 2 : cout <= 24 ? 3 : 4; }


static padded_layout SFX(layout_for)(const window_geom *g, int owp, int slack) {
  padded_layout p;
  p.hp = (g->oh - 1) * g->sh + g->kh;
  p.rowlen = ROUND_UP(((owp - 1) * g->sw + g->kw) * g->c + slack, 8);
  return p;
}

/* buf[yp, xp, ci] = x[b, yp - pad_top, xp - pad_left, ci], 0 outside the image. */
static void SFX(pad_image)(const float *xb, float *buf, const window_geom *g, padded_layout p) {
  memset(buf, 0, sizeof(float) * (size_t)p.hp * p.rowlen);
  const int cols_room = p.rowlen / g->c - g->pad_left;
  const int cols = g->w < cols_room ? g->w : cols_room;
  if (cols <= 0) return;
  for (int yp = 0; yp < p.hp; yp++) {
    const int iy = yp - g->pad_top;
    if (iy < 0 || iy >= g->h) continue;
    memcpy(buf + (size_t)yp * p.rowlen + (size_t)g->pad_left * g->c, xb + (size_t)iy * g->w * g->c,
           sizeof(float) * (size_t)cols * g->c);
  }
}

/* y[r*ystride + 0..cols) = bias + sum_{ky,k} a[ky*rowlen + r*xstep + k] * w[(ky*kwc + k)*coutp + 0..8*NV)
   for r < rows. A pixel whose channels end mid-vector is stored whole when its tail lands only in pixels
   this tile stores after it, or (spill > 0, tail within one pixel) in the next tile's first pixel, stored
   right after by the same thread (see the caller); else via a bounce buffer. Below 4 channels an 8-float
   store reaches more than one pixel ahead. */
#define FORWARD_TILE(NAME, R, NV)                                                                         \
  static void NAME(const float *a, int rowlen, int kh, int kwc, int xstep, const float *w, int coutp,   \
                   const float *bias, int relu, float *y, int ystride, int rows, int cols, int spill) { \
    v8 acc[R][NV];                                                                                       \
    for (int r = 0; r < R; r++)                                                                          \
      for (int v = 0; v < NV; v++) acc[r][v] = SFX(ld)(bias + 8 * v);                                    \
    for (int ky = 0; ky < kh; ky++) {                                                                    \
      const float *ar = a + (size_t)ky * rowlen;                                                         \
      const float *wr = w + (size_t)ky * kwc * coutp;                                                    \
      for (int k = 0; k < kwc; k++) {                                                                    \
        v8 wv[NV];                                                                                       \
        for (int v = 0; v < NV; v++) wv[v] = SFX(ld)(wr + (size_t)k * coutp + 8 * v);                    \
        for (int r = 0; r < R; r++) {                                                                    \
          const v8 xb = SFX(bc)(ar[r * xstep + k]);                                                      \
          for (int v = 0; v < NV; v++) acc[r][v] += xb * wv[v];                                          \
        }                                                                                                \
      }                                                                                                  \
    }                                                                                                    \
    if (relu)                                                                                            \
      for (int r = 0; r < R; r++)                                                                        \
        for (int v = 0; v < NV; v++) acc[r][v] = (v8)((vi8)acc[r][v] & (acc[r][v] > 0.0f));              \
    for (int r = 0; r < rows; r++) {                                                                     \
      float *yr = y + (size_t)r * ystride;                                                               \
      /* a whole store runs `ahead` pixels past this one; they must be stored after it by this thread */ \
      const int ahead = cols == 8 * NV ? 0 : (8 * NV - cols + ystride - 1) / ystride;                    \
      if (ahead == 0 || (spill >= 0 && (r + ahead < rows || (spill > 0 && ahead == 1)))) {               \
        for (int v = 0; v < NV; v++) SFX(st)(yr + 8 * v, acc[r][v]);                                    \
      } else {                                                                                           \
        float t[8 * NV];                                                                                 \
        for (int v = 0; v < NV; v++) SFX(st)(t + 8 * v, acc[r][v]);                                      \
        SFX(copy_floats)(yr, t, cols);                                                                   \
      }                                                                                                  \
    }                                                                                                    \
  }

FORWARD_TILE(SFX(forward_tile_r8v1), 8, 1)
FORWARD_TILE(SFX(forward_tile_r6v2), 6, 2)
FORWARD_TILE(SFX(forward_tile_r4v3), 4, 3)
FORWARD_TILE(SFX(forward_tile_r3v4), 3, 4)

typedef void (*SFX(forward_tile_fn))(const float *, int, int, int, int, const float *, int, const float *, int,
                                     float *, int, int, int, int);

/* acc[KB, 8*NV] += sum_{oy,ox} a[(oy*sh)*rowlen + ox*xstep + j] * d[(oy*ow + ox)*dstride + 0..8*NV).
   With dstride < 8*NV the lanes past a pixel's channels read the next pixel's: they only feed
   accumulator columns >= cout, which are dropped. */
#define FILTER_TILE(NAME, KB, NV)                                                                        \
  static void NAME(const float *a, int rowstep, int oh, int ow, int xstep, const float *d, int dstride, \
                   int coutp, float *acc_io) {                                                           \
    v8 acc[KB][NV];                                                                                      \
    for (int j = 0; j < KB; j++)                                                                         \
      for (int v = 0; v < NV; v++) acc[j][v] = SFX(ld)(acc_io + (size_t)j * coutp + 8 * v);                   \
    for (int oy = 0; oy < oh; oy++) {                                                                    \
      const float *ar = a + (size_t)oy * rowstep;                                                        \
      const float *dr = d + (size_t)oy * ow * dstride;                                                   \
      for (int ox = 0; ox < ow; ox++) {                                                                  \
        v8 dv[NV];                                                                                       \
        for (int v = 0; v < NV; v++) dv[v] = SFX(ld)(dr + (size_t)ox * dstride + 8 * v);                 \
        for (int j = 0; j < KB; j++) {                                                                   \
          const v8 xb = SFX(bc)(ar[ox * xstep + j]);                                                          \
          for (int v = 0; v < NV; v++) acc[j][v] += xb * dv[v];                                          \
        }                                                                                                \
      }                                                                                                  \
    }                                                                                                    \
    for (int j = 0; j < KB; j++)                                                                         \
      for (int v = 0; v < NV; v++) SFX(st)(acc_io + (size_t)j * coutp + 8 * v, acc[j][v]);                   \
  }

FILTER_TILE(SFX(filter_tile_k8v1), 8, 1)
FILTER_TILE(SFX(filter_tile_k6v2), 6, 2)
FILTER_TILE(SFX(filter_tile_k4v3), 4, 3)
FILTER_TILE(SFX(filter_tile_k3v4), 3, 4)

typedef void (*SFX(filter_tile_fn))(const float *, int, int, int, int, const float *, int, int, float *);

static int SFX(conv_direct_forward)(const float *x, const float *w, const float *bias, int relu, float *y, int cout,
                                    const window_geom *g, int threads) {
  static const SFX(forward_tile_fn) tiles[] = {SFX(forward_tile_r8v1), SFX(forward_tile_r6v2), SFX(forward_tile_r4v3),
                                          SFX(forward_tile_r3v4)};
  static const int rows_per_tile[] = {8, 6, 4, 3};
  const int nv = SFX(vectors_for)(cout), R = rows_per_tile[nv - 1];
  const SFX(forward_tile_fn) tile = tiles[nv - 1];
  const int cb_step = 8 * nv, coutp = ROUND_UP(cout, cb_step);
  const int kwc = g->kw * g->c, K = g->kh * kwc;
  const padded_layout p = SFX(layout_for)(g, ROUND_UP(g->ow, R), 0);

  /* the filter with its output channels padded to coutp */
  float *wp = calloc((size_t)K * coutp, sizeof(float));
  if (!wp) return -1;
  for (int k = 0; k < K; k++) memcpy(wp + (size_t)k * coutp, w + (size_t)k * cout, sizeof(float) * cout);
  float *biasp = calloc((size_t)coutp, sizeof(float)); /* the bias padded to coutp */
  if (!biasp) {
    free(wp);
    return -1;
  }
  if (bias) memcpy(biasp, bias, sizeof(float) * cout);

  int failed = 0;
#pragma omp parallel num_threads(threads)
  {
    float *buf = malloc(sizeof(float) * (size_t)p.hp * p.rowlen);
    if (!buf) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(static)
    for (int b = 0; b < g->n; b++) {
      if (!buf) continue;
      SFX(pad_image)(x + (size_t)b * g->h * g->w * g->c, buf, g, p);
      for (int oy = 0; oy < g->oh; oy++) {
        const float *arow = buf + (size_t)oy * g->sh * p.rowlen;
        float *yrow = y + ((size_t)b * g->oh + oy) * g->ow * cout;
        for (int ox0 = 0; ox0 < g->ow; ox0 += R) {
          const int rows = g->ow - ox0 < R ? g->ow - ox0 : R;
          /* with one channel block, a whole-vector store may run into the next pixel of this row,
             which is stored later (1: even from the tile's last pixel; 0: not from that one, as the
             row ends there and another thread may own the next image); with several blocks a pixel's
             later blocks are stored after its neighbour's first, so never (-1) */
          const int spill = coutp != cb_step ? -1 : ox0 + rows < g->ow;
          for (int cb = 0; cb < coutp; cb += cb_step) {
            const int cols = cout - cb < cb_step ? cout - cb : cb_step;
            tile(arow + (size_t)ox0 * g->sw * g->c, p.rowlen, g->kh, kwc, g->sw * g->c, wp + cb, coutp, biasp + cb, relu,
                 yrow + (size_t)ox0 * cout + cb, cout, rows, cols, spill);
          }
        }
      }
    }
    free(buf);
  }
  free(wp);
  free(biasp);
  return failed ? -1 : 0;
}

static int SFX(conv_direct_filter_grad)(const float *x, const float *dy, float *dw, int cout, const window_geom *g,
                            int threads) {
  static const SFX(filter_tile_fn) tiles[] = {SFX(filter_tile_k8v1), SFX(filter_tile_k6v2), SFX(filter_tile_k4v3), SFX(filter_tile_k3v4)};
  static const int entries_per_tile[] = {8, 6, 4, 3};
  const int nv = SFX(vectors_for)(cout), KB = entries_per_tile[nv - 1];
  const SFX(filter_tile_fn) tile = tiles[nv - 1];
  const int cb_step = 8 * nv, coutp = ROUND_UP(cout, cb_step);
  const int kwc = g->kw * g->c, kwcp = ROUND_UP(kwc, KB);
  /* slack: a tile may read up to KB - 1 entries past the last window run (into padding) */
  const padded_layout p = SFX(layout_for)(g, g->ow, KB);
  const size_t acc_len = (size_t)g->kh * kwcp * coutp;
  /* The threads split the filter, not the batch: each owns a range of (ky, k0, cb) tiles of dw and adds every
     image's term to them in batch order, so dw has the same bits whatever the thread count (a split of the batch
     would sum per-thread partial sums, whose rounding depends on how many threads there are). */
  const int nk0 = (kwc + KB - 1) / KB, ncb = coutp / cb_step, units = g->kh * nk0 * ncb;
  if (threads > units) threads = units;
  if (threads < 1) threads = 1;
  float *acc = calloc(acc_len, sizeof(float));
  if (!acc) return -1;

  int failed = 0;
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
    const int t = 0, nt = 1;
#endif
    const int lo = (int)((long)units * t / nt), hi = (int)((long)units * (t + 1) / nt);
    float *buf = malloc(sizeof(float) * (size_t)p.hp * p.rowlen);
    float *dyp = calloc((size_t)g->oh * g->ow * coutp, sizeof(float));
    if (!buf || !dyp) {
#pragma omp atomic write
      failed = 1;
    }
    for (int b = 0; b < g->n && buf && dyp && hi > lo; b++) {
      SFX(pad_image)(x + (size_t)b * g->h * g->w * g->c, buf, g, p);
      const float *dyb = dy + (size_t)b * g->oh * g->ow * cout;
      /* dy is read in place; only the last image, whose last pixel's vector loads would run past
         the end of dy, goes through the channel-padded copy */
      const float *d = dyb;
      int dstride = cout;
      if (b == g->n - 1 && coutp != cout) {
        for (int i = 0; i < g->oh * g->ow; i++) SFX(copy_floats)(dyp + (size_t)i * coutp, dyb + (size_t)i * cout, cout);
        d = dyp;
        dstride = coutp;
      }
      for (int u = lo; u < hi; u++) {
        const int ky = u / (nk0 * ncb), k0 = (u / ncb) % nk0 * KB, cb = u % ncb * cb_step;
        tile(buf + (size_t)ky * p.rowlen + k0, g->sh * p.rowlen, g->oh, g->ow, g->sw * g->c, d + cb, dstride, coutp,
             acc + ((size_t)ky * kwcp + k0) * coutp + cb);
      }
    }
    free(buf);
    free(dyp);
  }
  if (!failed)
    for (int ky = 0; ky < g->kh; ky++)
      for (int k = 0; k < kwc; k++)
        memcpy(dw + ((size_t)ky * kwc + k) * cout, acc + ((size_t)ky * kwcp + k) * coutp, sizeof(float) * cout);
  free(acc);
  return failed ? -1 : 0;
}

/* acc[R, 8*NV] = sum_co dy[r*cout + co] * wt[co*kwcp + 0..8*NV); then run[r*xstep + 0..8*NV) += acc[r].
   The runs of neighbouring pixels overlap (stride < kernel), so the adds go pixel by pixel. */
#define SCATTER_TILE(NAME, R, NV)                                                                         \
  static void NAME(const float *dy, int cout, const float *wt, int kwcp, float *run, int xstep, int rows) { \
    v8 acc[R][NV];                                                                                       \
    for (int r = 0; r < R; r++)                                                                          \
      for (int v = 0; v < NV; v++) acc[r][v] = SFX(bc)(0.0f);                                            \
    for (int co = 0; co < cout; co++) {                                                                  \
      v8 wv[NV];                                                                                         \
      for (int v = 0; v < NV; v++) wv[v] = SFX(ld)(wt + (size_t)co * kwcp + 8 * v);                       \
      for (int r = 0; r < R; r++) {                                                                      \
        const v8 d = SFX(bc)(dy[r * cout + co]);                                                         \
        for (int v = 0; v < NV; v++) acc[r][v] += d * wv[v];                                             \
      }                                                                                                  \
    }                                                                                                    \
    for (int r = 0; r < rows; r++)                                                                       \
      for (int v = 0; v < NV; v++) {                                                                     \
        float *o = run + (size_t)r * xstep + 8 * v;                                                      \
        SFX(st)(o, SFX(ld)(o) + acc[r][v]);                                                              \
      }                                                                                                  \
  }

SCATTER_TILE(SFX(scatter_tile_r8v1), 8, 1)
SCATTER_TILE(SFX(scatter_tile_r6v2), 6, 2)
SCATTER_TILE(SFX(scatter_tile_r4v3), 4, 3)
SCATTER_TILE(SFX(scatter_tile_r3v4), 3, 4)

/* dx[b, iy, ix, ci] = sum over the windows containing (iy, ix) of dy[b, oy, ox, co] * w[ky, kx, ci, co]:
   each output pixel adds W_ky^T dy[pixel] (kw*c values) to the padded dx row oy*sh + ky at column
   ox*sw*c, for any stride and padding; the interior of the padded image is then copied to dx. */
static int SFX(conv_direct_input_grad)(const float *dy, const float *w, float *dx, int cout, const window_geom *g,
                                       int threads) {
  static const int rows_per_tile[] = {8, 6, 4, 3};
  const int c = g->c, kwc = g->kw * c, kwcp = ROUND_UP(kwc, 8), R = 8; /* R: the widest tile's rows */
  const int owp = ROUND_UP(g->ow, R);
  const int hp = (g->oh - 1) * g->sh + g->kh;
  const int rowlen = ROUND_UP((owp - 1) * g->sw * c + kwcp, 8);
  /* wt[ky, co, j] = w[ky, kx, ci, co] with j = kx*c + ci, zero for j >= kwc */
  float *wt = calloc((size_t)g->kh * cout * kwcp, sizeof(float));
  if (!wt) return -1;
  for (int ky = 0; ky < g->kh; ky++)
    for (int j = 0; j < kwc; j++)
      for (int co = 0; co < cout; co++)
        wt[((size_t)ky * cout + co) * kwcp + j] = w[((size_t)ky * kwc + j) * cout + co];

  int failed = 0;
#pragma omp parallel num_threads(threads)
  {
    float *pad = malloc(sizeof(float) * (size_t)hp * rowlen);
    float *dyrow = calloc((size_t)(g->ow + 8) * cout, sizeof(float)); /* zeros past ow: tiles read up to 7 more pixels */
    if (!pad || !dyrow) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(static)
    for (int b = 0; b < g->n; b++) {
      if (!pad || !dyrow) continue;
      memset(pad, 0, sizeof(float) * (size_t)hp * rowlen);
      for (int oy = 0; oy < g->oh; oy++) {
        memcpy(dyrow, dy + ((size_t)b * g->oh + oy) * g->ow * cout, sizeof(float) * (size_t)g->ow * cout);
        for (int ky = 0; ky < g->kh; ky++) {
          float *prow = pad + (size_t)(oy * g->sh + ky) * rowlen;
          const float *wk = wt + (size_t)ky * cout * kwcp;
          for (int jb = 0; jb < kwcp; ) {
            const int left = (kwcp - jb) / 8, nv = left < 4 ? left : 4, rt = rows_per_tile[nv - 1];
            for (int ox0 = 0; ox0 < g->ow; ox0 += rt) {
              const int rows = g->ow - ox0 < rt ? g->ow - ox0 : rt;
              const float *d = dyrow + (size_t)ox0 * cout;
              float *run = prow + (size_t)ox0 * g->sw * c + jb;
              switch (nv) {
                case 1: SFX(scatter_tile_r8v1)(d, cout, wk + jb, kwcp, run, g->sw * c, rows); break;
                case 2: SFX(scatter_tile_r6v2)(d, cout, wk + jb, kwcp, run, g->sw * c, rows); break;
                case 3: SFX(scatter_tile_r4v3)(d, cout, wk + jb, kwcp, run, g->sw * c, rows); break;
                default: SFX(scatter_tile_r3v4)(d, cout, wk + jb, kwcp, run, g->sw * c, rows); break;
              }
            }
            jb += 8 * nv;
          }
        }
      }
      /* dx = the padded image's interior; input rows/columns no window reaches get 0 */
      float *db = dx + (size_t)b * g->h * g->w * c;
      for (int iy = 0; iy < g->h; iy++) {
        float *drow = db + (size_t)iy * g->w * c;
        const int yp = iy + g->pad_top;
        if (yp >= hp) {
          memset(drow, 0, sizeof(float) * (size_t)g->w * c);
          continue;
        }
        const float *src = pad + (size_t)yp * rowlen + (size_t)g->pad_left * c;
        const int room = rowlen / c - g->pad_left; /* columns the padded row holds */
        const int cols = g->w < room ? g->w : room;
        memcpy(drow, src, sizeof(float) * (size_t)cols * c);
        if (cols < g->w) memset(drow + (size_t)cols * c, 0, sizeof(float) * (size_t)(g->w - cols) * c);
      }
    }
    free(pad);
    free(dyrow);
  }
  free(wt);
  return failed ? -1 : 0;
}
