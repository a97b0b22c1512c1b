import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { loadNative } from '../../src/backend/native.js';
import { GEMM_SHAPES, gemmTable } from '../../src/bench/gemm.js';
import { Rng } from '../../src/util/rng.js';
import { compareWithCpu, randn } from './compare.js';
import { TOL } from './kernels-cases.js';
import { nativeSkip } from './needs-native.js';

const addon = loadNative();
const skip = nativeSkip();
/**
 * Every product this build runs on this CPU: own-avx512 / own-avx2 where the CPU has them,
 * own-portable, openblas, and auto (with OpenBLAS: the own kernel for narrow C, OpenBLAS for the rest).
 */
const choices = addon ? [...addon.gemmChoices(), 'auto'] : [];

before(async () => {
  await initBackend({ prefer: 'auto', quiet: true });
  if (addon) setNativeEnabled(true);
});

/** Runs `fn` with the addon's product set to `choice` and products threaded from `minMacs` multiply-adds. */
function withGemm(choice: string, threads: number, minMacs: number, fn: () => void): void {
  const before = { threads: addon!.getThreads(), gemm: process.env.POISONLAB_GEMM || 'auto' };
  addon!.gemm(choice);
  addon!.setThreads(threads, minMacs);
  try {
    fn();
  } finally {
    addon!.gemm(before.gemm);
    addon!.setThreads(before.threads, 1e7);
  }
}

/**
 * [m, k, n]: edge tiles of every micro-kernel (rows not a multiple of 8 / 6 / 4, columns not of
 * 32 / 16 / 8), narrow C (n <= 16: the narrow tiles and A read in place), n = 100 (wide slivers
 * plus a narrow one), k past one inner block (384) and m past one row block (960).
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [7, 5, 9],
  [8, 384, 32],
  [9, 385, 33],
  [17, 800, 65],
  [100, 128, 10],
  [128, 320, 100],
  [13, 3, 300],
  [6, 40, 16],
  [33, 17, 47],
  [970, 9, 20],
  [3, 70, 1000],
];

describe('the addon matrix products against tfjs cpu (values and gradients)', () => {
  it('lists its own micro-kernels, the portable one always', { skip }, () => {
    assert.ok(choices.includes('own-portable'), choices.join());
    assert.match(addon!.gemm('own-portable'), /^own packed portable C \(\d+x\d+\)$/);
    assert.match(addon!.gemm('own'), /^own packed /);
    assert.throws(() => addon!.gemm('own-sse9'), RangeError);
    addon!.gemm(process.env.POISONLAB_GEMM || 'auto');
  });

  for (const choice of choices)
    for (const threads of [1, 2])
      it(`${choice} on ${threads} thread(s): matMul with every transpose, edge tiles, long k, tall m`, {
        skip,
      }, () => {
        withGemm(choice, threads, 0, () => {
          const rng = new Rng(17);
          for (const [m, k, n] of SHAPES)
            for (const [ta, tb] of [
              [false, false],
              [true, false],
              [false, true],
              [true, true],
            ] as const) {
              const a = randn(rng, ta ? [k, m] : [m, k]);
              const b = randn(rng, tb ? [n, k] : [k, n]);
              const { err } = compareWithCpu([a, b], (x, y) => {
                const f = (p: tf.Tensor, q: tf.Tensor) =>
                  tf.sum(tf.mul(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D, ta, tb), 0.5));
                return [tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), ...tf.grads(f)([x, y])];
              });
              assert.ok(err <= TOL, `${choice} ${m}x${k}x${n} ta=${ta} tb=${tb}: relative error ${err}`);
            }
        });
      });

  it('own: a dense layer of every study width, values and gradients', { skip }, () => {
    // the workloads' dense products at a smaller batch: [8, k] x [k, n] for each (k, n) of GEMM_SHAPES' forwards
    const dense = GEMM_SHAPES.filter((s) => !s.ta && !s.tb && s.m === 128).map((s) => [s.k, s.n] as const);
    withGemm('own', 2, 0, () => {
      const rng = new Rng(3);
      for (const [k, n] of dense.filter(([k, n]) => k * n <= 4e6)) {
        const { err } = compareWithCpu([randn(rng, [8, k]), randn(rng, [k, n])], (x, w) => {
          const f = (p: tf.Tensor, q: tf.Tensor) =>
            tf.sum(tf.relu(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D)));
          return [tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), ...tf.grads(f)([x, w])];
        });
        assert.ok(err <= TOL, `dense ${k} -> ${n}: relative error ${err}`);
      }
    });
  });
});

/** alpha op(A) op(B) + beta C in float64, the reference for the addon's own arguments. */
function reference(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
): Float64Array {
  const out = new Float64Array(m * ldc);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < ldc; j++) {
      if (j >= n) {
        out[i * ldc + j] = c[i * ldc + j]!;
        continue;
      }
      let s = 0;
      for (let p = 0; p < k; p++)
        s += a[ta ? p * lda + i : i * lda + p]! * b[tb ? j * ldb + p : p * ldb + j]!;
      out[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * ldc + j]!);
    }
  return out;
}

describe('the addon sgemm: alpha, beta, leading dimensions, k = 0', () => {
  const cases: [number, number, number, number, number][] = [
    // m, n, k, alpha, beta
    [9, 33, 20, 1, 0],
    [9, 33, 20, -0.01, 1], // the two-layer step's W update: alpha = -lr, beta = 1
    [17, 10, 400, 2, 0.5],
    [5, 70, 3, 0, 2], // alpha 0: C = beta C
    [6, 7, 0, 1, 3], // k 0: C = beta C
    [4, 40, 0, 1, 0], // k 0, beta 0: zeros
  ];
  for (const choice of choices)
    it(`${choice}: C = alpha op(A) op(B) + beta C; beta 0 never reads C (NaN there); columns past n untouched`, {
      skip,
    }, () => {
      withGemm(choice, 2, 0, () => {
        const rng = new Rng(9);
        for (const [m, n, k, alpha, beta] of cases)
          for (const ta of [false, true])
            for (const tb of [false, true]) {
              const pad = 3;
              const lda = (ta ? m : k) + pad;
              const ldb = (tb ? k : n) + pad;
              const ldc = n + pad;
              const aLen = (ta ? k : m) * lda;
              const bLen = (tb ? n : k) * ldb;
              const buf = new ArrayBuffer(4 * (aLen + bLen + m * ldc));
              const a = new Float32Array(buf, 0, aLen);
              const b = new Float32Array(buf, 4 * aLen, bLen);
              const c = new Float32Array(buf, 4 * (aLen + bLen), m * ldc);
              a.set(randn(rng, [aLen]).values);
              b.set(randn(rng, [bLen]).values);
              c.set(randn(rng, [m * ldc]).values);
              if (beta === 0) for (let i = 0; i < m; i++) c.fill(Number.NaN, i * ldc, i * ldc + n);
              const want = reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
              addon!.sgemm(
                buf,
                +ta,
                +tb,
                m,
                n,
                k,
                0,
                lda,
                4 * aLen,
                ldb,
                beta,
                4 * (aLen + bLen),
                ldc,
                alpha,
              );
              const scale = Math.max(1, ...want.map(Math.abs));
              const err = Math.max(...c.map((v, i) => Math.abs(v - want[i]!)));
              assert.ok(
                err <= 1e-5 * scale,
                `${choice} ${m}x${n}x${k} ta=${ta} tb=${tb} a=${alpha} b=${beta}: ${err}`,
              );
            }
      });
    });

  it('reports the product in use through the backend info', { skip }, () => {
    assert.equal(backendInfo()?.gemm, addon!.gemm());
  });
});

it('gemmTable times every product on a shape at each thread count and restores the addon settings', {
  skip,
}, () => {
  const before = { gemm: addon!.gemm(), threads: addon!.getThreads() };
  const shape = GEMM_SHAPES.find((s) => s.name === 'mnist_cnn m100 fc1 dx')!;
  const rows = gemmTable(addon!, { shapes: [shape], choices, threads: [1, 2], rounds: 2, seconds: 0.01 });
  assert.deepEqual(
    rows.map((r) => r.threads),
    [1, 2],
  );
  for (const r of rows)
    for (const c of choices) {
      const g = r.gflops[c]!;
      assert.ok(g.best >= g.median && g.median > 0 && g.cpu > 0, `${c}: ${JSON.stringify(g)}`);
    }
  assert.deepEqual({ gemm: addon!.gemm(), threads: addon!.getThreads() }, before);
});
