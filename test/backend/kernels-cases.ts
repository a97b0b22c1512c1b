import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { conv2dBias, denseBias } from '../../src/backend/layer-ops.js';
import { Rng } from '../../src/util/rng.js';
import { compareWithCpu, randn } from './compare.js';

/** Largest relative error the project's kernels may have against tfjs's cpu backend. */
export const TOL = 1e-4;

type Case = { name: string; run: (rng: Rng) => { err: number; shapes: number[][] } };

const sumSq = (t: tf.Tensor) => tf.sum(tf.mul(t, tf.randomUniform(t.shape, -1, 1, 'float32', 7)));

/** Every kernel case: values and gradients (tf.grads) against tfjs-backend-cpu. */
export const CASES: Case[] = [];

for (const [ta, tb] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  CASES.push({
    name: `matMul transposeA=${ta} transposeB=${tb}`,
    run: (rng) => {
      const [m, k, n] = [1 + rng.int(40), 1 + rng.int(70), 1 + rng.int(50)];
      const a = randn(rng, ta ? [k, m] : [m, k]);
      const b = randn(rng, tb ? [n, k] : [k, n]);
      return compareWithCpu([a, b], (x, y) => {
        const f = (p: tf.Tensor, q: tf.Tensor) =>
          sumSq(tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D, ta, tb));
        return [tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), ...tf.grads(f)([x, y])];
      });
    },
  });
  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const) {
    CASES.push({
      name: `fused.matMul ${activation} transposeA=${ta} transposeB=${tb}`,
      run: (rng) => {
        const [m, k, n] = [1 + rng.int(30), 1 + rng.int(40), 2 + rng.int(30)];
        const a = randn(rng, ta ? [k, m] : [m, k]);
        const b = randn(rng, tb ? [n, k] : [k, n]);
        const bias = randn(rng, [n]);
        const prelu = randn(rng, [n]);
        return compareWithCpu([a, b, bias, prelu], (x, y, z, p) => {
          const f = (u: tf.Tensor, v: tf.Tensor, w: tf.Tensor) =>
            tf.fused.matMul({
              a: u as tf.Tensor2D,
              b: v as tf.Tensor2D,
              transposeA: ta,
              transposeB: tb,
              bias: w,
              activation,
              preluActivationWeights: activation === 'prelu' ? p : undefined,
              leakyreluAlpha: 0.3,
            });
          return [f(x, y, z), ...tf.grads((u, v, w) => sumSq(f(u, v, w)))([x, y, z])];
        });
      },
    });
  }
}

CASES.push({
  name: 'batched matMul with batch broadcast',
  run: (rng) => {
    const a = randn(rng, [2, 3, 5, 7]);
    const b = randn(rng, [1, 1, 7, 4]);
    // (tfjs 4.22's BatchMatMul gradient itself does not reduce broadcast batch dims: values only)
    return compareWithCpu([a, b], (x, y) => [tf.matMul(x, y, false, false), tf.matMul(y, x, true, true)]);
  },
});

CASES.push({
  name: 'fused.matMul with a scalar bias (general broadcast)',
  run: (rng) => {
    const a = randn(rng, [6, 5]);
    const b = randn(rng, [5, 4]);
    const bias = randn(rng, [1]);
    return compareWithCpu([a, b, bias], (x, y, z) => [
      tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: z, activation: 'relu' }),
    ]);
  },
});

const PADS: (number | 'valid' | 'same' | [[0, 0], [number, number], [number, number], [0, 0]])[] = [
  'valid',
  'same',
  [
    [0, 0],
    [1, 2],
    [2, 0],
    [0, 0],
  ],
];
for (const stride of [1, 2, 3]) {
  for (const pad of PADS) {
    CASES.push({
      name: `conv2d stride ${stride} pad ${JSON.stringify(pad)} (+ input and filter gradients)`,
      run: (rng) => {
        // up to 40 channels: the direct kernels (<= 32, in blocks of 8 to 32) and the im2col path
        const [n, h, w, cin, cout] = [
          1 + rng.int(3),
          5 + rng.int(8),
          5 + rng.int(8),
          1 + rng.int(rng.int(2) === 0 ? 4 : 40),
          1 + rng.int(rng.int(2) === 0 ? 6 : 40),
        ];
        const [kh, kw] = [1 + rng.int(4), 1 + rng.int(4)];
        const x = randn(rng, [n, h, w, cin]);
        const f = randn(rng, [kh, kw, cin, cout]);
        return compareWithCpu([x, f], (xt, ft) => {
          const conv = (u: tf.Tensor, v: tf.Tensor) =>
            tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, stride, pad as 'valid' | 'same');
          return [conv(xt, ft), ...tf.grads((u, v) => sumSq(conv(u, v)))([xt, ft])];
        });
      },
    });
  }
}

for (const [stride, pad, act] of [
  [1, 'valid', 'linear'],
  [2, 'same', 'relu'],
  [1, 'same', 'relu'],
] as const) {
  CASES.push({
    name: `conv2dBias stride ${stride} ${pad} ${act} (one kernel; + input, filter and bias gradients)`,
    run: (rng) => {
      const [n, h, w, cin, cout] = [
        1 + rng.int(3),
        6 + rng.int(6),
        6 + rng.int(6),
        1 + rng.int(12),
        1 + rng.int(40),
      ];
      const [kh, kw] = [1 + rng.int(5), 1 + rng.int(5)];
      return compareWithCpu(
        [randn(rng, [n, h, w, cin]), randn(rng, [kh, kw, cin, cout]), randn(rng, [cout])],
        (xt, ft, bt) => {
          const f = (u: tf.Tensor, v: tf.Tensor, b: tf.Tensor) =>
            conv2dBias(u as tf.Tensor4D, v as tf.Tensor4D, b as tf.Tensor1D, [stride, stride], pad, act);
          return [
            f(xt, ft, bt),
            ...tf.grads((u, v, b) => sumSq(f(u, v, b)))([xt, ft, bt]),
            ...tf.grads((v, b) => sumSq(f(xt, v, b)))([ft, bt]),
          ];
        },
      );
    },
  });
}

for (const act of ['linear', 'relu'] as const) {
  CASES.push({
    name: `denseBias ${act} (one kernel; + input, weight and bias gradients)`,
    run: (rng) => {
      const [m, k, n] = [1 + rng.int(40), 1 + rng.int(70), 1 + rng.int(50)];
      return compareWithCpu([randn(rng, [m, k]), randn(rng, [k, n]), randn(rng, [n])], (xt, wt, bt) => {
        const f = (u: tf.Tensor, v: tf.Tensor, b: tf.Tensor | null) =>
          denseBias(u as tf.Tensor2D, v as tf.Tensor2D, b as tf.Tensor1D | null, act);
        return [
          f(xt, wt, bt),
          f(xt, wt, null),
          ...tf.grads((u, v, b) => sumSq(f(u, v, b)))([xt, wt, bt]),
          ...tf.grads((v) => sumSq(f(xt, v, null)))([wt]),
        ];
      });
    },
  });
}

CASES.push({
  name: 'conv2d filter gradients of two inputs of one geometry, taken in reverse order (im2col reuse)',
  run: (rng) => {
    const x1 = randn(rng, [2, 7 + rng.int(4), 6, 2]);
    const x2 = randn(rng, x1.shape);
    const f = randn(rng, [3, 3, 2, 4]);
    return compareWithCpu([x1, x2, f], (a, b, ft) => {
      const conv = (u: tf.Tensor, v: tf.Tensor) => tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, 1, 'same');
      // both forwards run before either filter gradient: x2's kept col matrix must not serve x1
      return tf.grads((v, u1, u2) => tf.add(sumSq(conv(u1, v)), tf.mul(2, sumSq(conv(u2, v)))))([ft, a, b]);
    });
  },
});

CASES.push({
  name: 'conv2d 1x1 pointwise (+ gradients)',
  run: (rng) => {
    const x = randn(rng, [2, 4, 5, 6]);
    const f = randn(rng, [1, 1, 6, 3]);
    return compareWithCpu([x, f], (xt, ft) => {
      const conv = (u: tf.Tensor, v: tf.Tensor) => tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, 1, 'valid');
      return [conv(xt, ft), ...tf.grads((u, v) => sumSq(conv(u, v)))([xt, ft])];
    });
  },
});

for (const activation of ['linear', 'relu', 'elu'] as const) {
  CASES.push({
    name: `fused.conv2d bias + ${activation} (+ gradients)`,
    run: (rng) => {
      const x = randn(rng, [3, 9, 8, 3]);
      const f = randn(rng, [3, 3, 3, 5]);
      const bias = randn(rng, [5]);
      return compareWithCpu([x, f, bias], (xt, ft, bt) => {
        const conv = (u: tf.Tensor, v: tf.Tensor, w: tf.Tensor) =>
          tf.fused.conv2d({
            x: u as tf.Tensor4D,
            filter: v as tf.Tensor4D,
            strides: 2,
            pad: 'same',
            bias: w,
            activation,
          });
        return [conv(xt, ft, bt), ...tf.grads((u, v, w) => sumSq(conv(u, v, w)))([xt, ft, bt])];
      });
    },
  });
}

for (const [size, stride, pad] of [
  [2, 2, 'valid'],
  [3, 2, 'same'],
  [3, 1, 'valid'],
  [2, 1, 'same'],
] as const) {
  CASES.push({
    name: `maxPool ${size}x${size} stride ${stride} ${pad} (+ gradient)`,
    run: (rng) => {
      const x = randn(rng, [1 + rng.int(3), 4 + rng.int(9), 4 + rng.int(9), 1 + rng.int(5)]);
      return compareWithCpu([x], (xt) => {
        const pool = (u: tf.Tensor) => tf.maxPool(u as tf.Tensor4D, size, stride, pad);
        return [pool(xt), ...tf.grads((u) => sumSq(pool(u)))([xt])];
      });
    },
  });
}

CASES.push({
  name: 'maxPool 2x2 stride 2 with tied values (gradient goes to the first maximum)',
  run: (rng) => {
    const x = randn(rng, [2, 2 * (2 + rng.int(4)) + rng.int(2), 6 + rng.int(3), 1 + rng.int(12)]);
    x.values = x.values.map((v) => Math.round(Math.abs(v))); // few distinct values: many ties
    return compareWithCpu([x], (xt) => {
      const pool = (u: tf.Tensor) => tf.maxPool(u as tf.Tensor4D, 2, 2, 'valid');
      return [pool(xt), ...tf.grads((u) => sumSq(pool(u)))([xt])];
    });
  },
});

CASES.push({
  name: 'add: bias vector on the last axis (either order), and general broadcasts (+ gradients)',
  run: (rng) => {
    const c = 1 + rng.int(12);
    const x = randn(rng, [1 + rng.int(4), 1 + rng.int(6), 1 + rng.int(6), c]);
    const b = randn(rng, [c]);
    const row = randn(rng, [1, c]);
    return compareWithCpu([x, b, row], (xt, bt, rt) => [
      tf.add(xt, bt),
      tf.add(bt, xt),
      tf.add(xt, rt),
      tf.add(xt, xt),
      tf.add(tf.reshape(xt, [-1, c]), bt),
      ...tf.grads((u, v) => sumSq(tf.add(u, v)))([xt, bt]),
    ]);
  },
});

CASES.push({
  name: 'identity (clone) shares data: the clone outlives its source, gradients pass through',
  run: (rng) => {
    const x = randn(rng, [2 + rng.int(3), 3 + rng.int(4)]);
    return compareWithCpu([x], (xt) => {
      const src = tf.mul(xt, 2);
      const copy = tf.clone(src);
      src.dispose();
      const ints = tf.clone(tf.cast(xt, 'int32'));
      return [copy, tf.cast(ints, 'float32'), ...tf.grads((u) => sumSq(tf.clone(tf.mul(u, 3))))([xt])];
    });
  },
});

CASES.push({
  name: 'slice: leading-axis (contiguous) and strided slices of ranks 1-4, int32 too (+ gradients)',
  run: (rng) => {
    const shape = [2 + rng.int(5), 1 + rng.int(4), 1 + rng.int(5), 1 + rng.int(3)];
    const x = randn(rng, shape);
    const b = shape.map((d) => rng.int(d));
    const s = shape.map((d, i) => 1 + rng.int(d - b[i]!));
    const cols = shape[1]! * shape[2]! * shape[3]!; // a 1-wide matrix has no column 1
    return compareWithCpu([x], (xt) => [
      tf.slice(xt, [b[0]!], [s[0]!]),
      tf.slice(xt, b, s),
      tf.slice(tf.reshape(xt, [shape[0]!, -1]), [b[0]!, Math.min(1, cols - 1)], [s[0]!, 1]),
      tf.slice(tf.reshape(xt, [-1]), [b[1]!], [s[1]!]),
      // whole trailing axes (a crop): copied as one run per outer index
      tf.slice(xt, [0, b[1]!, 0, 0], [shape[0]!, s[1]!, shape[2]!, shape[3]!]),
      tf.slice(xt, [b[0]!, b[1]!, b[2]!, 0], [s[0]!, s[1]!, s[2]!, shape[3]!]),
      tf.cast(tf.slice(tf.cast(tf.mul(xt, 10), 'int32'), b, s), 'float32'),
      ...tf.grads((u) => sumSq(tf.slice(u, b, s)))([xt]),
    ]);
  },
});

CASES.push({
  name: 'gather: rows of ranks 1-4, inner axes, batchDims, repeated indices, int32 too (+ gradients)',
  run: (rng) => {
    const shape = [2 + rng.int(6), 1 + rng.int(4), 1 + rng.int(5), 1 + rng.int(3)];
    const x = randn(rng, shape);
    const rows = Array.from({ length: 1 + rng.int(9) }, () => rng.int(shape[0]!));
    const cols = Array.from({ length: 1 + rng.int(4) }, () => rng.int(shape[2]!));
    const perBatch = Array.from({ length: shape[0]! * 2 }, () => rng.int(shape[1]!));
    return compareWithCpu([x], (xt) => {
      const r = tf.tensor1d(rows, 'int32');
      const c = tf.tensor1d(cols, 'int32');
      const pb = tf.tensor2d(perBatch, [shape[0]!, 2], 'int32');
      return [
        tf.gather(xt, r),
        tf.gather(tf.reshape(xt, [-1]), r),
        tf.gather(tf.reshape(xt, [shape[0]!, -1]), r),
        tf.gather(xt, c, 2),
        tf.gather(xt, c, -1 - (shape.length - 3)),
        tf.gather(xt, tf.tensor2d([rows[0]!, rows[rows.length - 1]!, 0, 0], [2, 2], 'int32')),
        tf.gather(xt, pb, 1, 1),
        tf.cast(tf.gather(tf.cast(tf.mul(xt, 10), 'int32'), r), 'float32'),
        ...tf.grads((u) => sumSq(tf.gather(u, r)))([xt]),
        ...tf.grads((u) => sumSq(tf.gather(u, c, 2)))([xt]),
        tf.unsortedSegmentSum(xt, tf.tensor1d([...perBatch.slice(0, shape[0]!)], 'int32'), shape[1]!),
      ];
    });
  },
});

CASES.push({
  name: 'sum over all leading axes, keepDims and not',
  run: (rng) => {
    const x = randn(rng, [3, 4, 5, 6]);
    return compareWithCpu([x], (xt) => [
      tf.sum(xt, [0, 1, 2]),
      tf.sum(xt, [2, 0, 1], true),
      tf.sum(xt, [0, 2]),
    ]);
  },
});

CASES.push({
  name: 'bias add and leading-axes sum / mean over several tiles (odd widths, tail chunks) (+ gradients)',
  run: (rng) => {
    const c = [1, 3, 6, 10, 37, 1000][rng.int(6)]!;
    const rows = Math.ceil((5000 + rng.int(60000)) / c);
    const x = randn(rng, [rows, c]);
    const b = randn(rng, [c]);
    return compareWithCpu([x, b], (xt, bt) => [
      tf.add(xt, bt),
      tf.add(tf.reshape(xt, [1, rows, c]), bt),
      tf.sum(xt, 0),
      tf.mean(xt, 0, true),
      ...tf.grads((u, v) => sumSq(tf.add(u, v)))([xt, bt]),
    ]);
  },
});

/** Runs every case with several seeds and asserts the error bound. */
export function checkAllCases(seeds: number[]): void {
  for (const c of CASES) {
    for (const seed of seeds) {
      const { err } = c.run(new Rng(seed));
      assert.ok(err <= TOL, `${c.name} (seed ${seed}): relative error ${err} > ${TOL}`);
    }
  }
}
