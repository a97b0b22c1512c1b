import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { referencePerSampleLoss as attackReference, negatedLoss } from '../../src/attacks/objective.js';
import {
  fusedLoss,
  fusedSgdUpdate,
  hasKernel,
  LOSS_KERNEL,
  type LossAttrs,
  RELU_GRAD_KERNEL,
  SGD_UPDATE_KERNEL,
} from '../../src/backend/fused-ops.js';
import type { WasmBackend } from '../../src/backend/heap.js';
import { initBackend } from '../../src/backend/index.js';
import { sgdJs } from '../../src/backend/js-loops.js';
import { setDirectConv } from '../../src/backend/kernels/state.js';
import { setSimdEnabled, simdLoops, simdModuleBytes } from '../../src/backend/simd.js';
import { referencePerSampleLoss } from '../../src/train/losses.js';
import { Sgd } from '../../src/train/sgd.js';
import { Rng } from '../../src/util/rng.js';
import { compareWithCpu, randn, relError } from './compare.js';
import { CASES, TOL as KERNEL_TOL } from './kernels-cases.js';

/** The fused ops must match the tfjs formulation within this (relative to max(1, |reference|)). */
const TOL = 1e-5;

before(async () => {
  await initBackend({ quiet: true });
});

/** The loss of LossAttrs written with tfjs ops (the formulation the fused kernel replaces). */
function referenceLoss(logits: tf.Tensor, labels: tf.Tensor, a: LossAttrs): tf.Tensor[] {
  const terms = referencePerSampleLoss(a.negate ? tf.neg(logits) : logits, labels, a.kind);
  const reduce = (t: tf.Tensor) =>
    a.reduction === 'none' ? t : a.reduction === 'mean' ? tf.mean(t) : tf.sum(t);
  return [
    tf.mul(reduce(terms.loss), a.scale),
    a.reduction === 'none' ? terms.correct : tf.sum(terms.correct),
  ];
}

/** fusedLoss where the backend has it (wasm), the reference elsewhere (cpu). */
function lossOnBackend(logits: tf.Tensor, labels: tf.Tensor, a: LossAttrs): tf.Tensor[] {
  const fused = fusedLoss(logits, labels, a);
  if (tf.getBackend() === 'wasm') assert.ok(fused, 'the fused loss runs on wasm');
  return fused ? [fused.loss, fused.correct] : referenceLoss(logits, labels, a);
}

/** Values (loss, correct) and the gradient of sum(r * loss) with respect to the logits, wasm vs cpu. */
function compareLoss(rng: Rng, a: LossAttrs, logitScale: number, badLabel = false): number {
  const rows = 1 + rng.int(40);
  const k = a.kind === 'logistic' ? 1 : 2 + rng.int(11);
  const logits = randn(rng, a.kind === 'logistic' && rng.int(2) === 0 ? [rows] : [rows, k]);
  logits.values = logits.values.map((v) => v * logitScale);
  const labels = Array.from({ length: rows }, () => rng.int(a.kind === 'logistic' ? 2 : k));
  if (badLabel) labels[0] = k; // no class: oneHot gives a zero row
  const weights = randn(rng, a.reduction === 'none' ? [rows] : []);
  const { err } = compareWithCpu([logits, weights], (z, r) => {
    const y = tf.tensor1d(labels, 'int32');
    const f = (u: tf.Tensor) => tf.sum(tf.mul(lossOnBackend(u, y, a)[0]!, r!));
    return [...lossOnBackend(z!, y, a), ...tf.grads(f)([z!])];
  });
  return err;
}

describe('fused loss kernel against the tfjs formulation on cpu (values and gradients)', () => {
  test('the loss kernels are registered on wasm only', () => {
    assert.ok(hasKernel(LOSS_KERNEL));
    assert.equal(tf.getKernel(LOSS_KERNEL, 'cpu'), undefined);
  });

  for (const kind of ['crossentropy', 'logistic'] as const)
    for (const reduction of ['none', 'mean', 'sum'] as const)
      for (const negate of [false, true])
        test(`${kind}, reduction ${reduction}${negate ? ', negated logits and scale -1' : ''}`, () => {
          const a: LossAttrs = { kind, reduction, negate, scale: negate ? -1 : 1 };
          for (let seed = 1; seed <= 6; seed++) {
            const err = compareLoss(new Rng(seed), a, 1 + seed);
            assert.ok(err <= TOL, `seed ${seed}: relative error ${err}`);
          }
        });

  for (const scale of [50, 1e4, 1e30])
    test(`extreme logits (scale ${scale}) neither overflow nor lose the gradient`, () => {
      for (const kind of ['crossentropy', 'logistic'] as const)
        for (const reduction of ['none', 'mean'] as const) {
          const err = compareLoss(new Rng(11), { kind, reduction, negate: false, scale: 1 }, scale);
          assert.ok(err <= TOL, `${kind} ${reduction}: relative error ${err}`);
        }
    });

  test('a label outside [0, K) counts as no class (as tf.oneHot does)', () => {
    const err = compareLoss(
      new Rng(3),
      { kind: 'crossentropy', reduction: 'none', negate: false, scale: 1 },
      2,
      true,
    );
    assert.ok(err <= TOL, `relative error ${err}`);
  });

  test("the attack's negatedLoss (one kernel on wasm) matches its tfjs formulation and gradient", () => {
    const rng = new Rng(4);
    for (const k of [1, 10]) {
      const z = randn(rng, [17, k]);
      const labels = Array.from({ length: 17 }, () => rng.int(k === 1 ? 2 : k));
      for (const reduction of ['mean', 'sum'] as const) {
        const { err } = compareWithCpu([z], (u) => {
          const y = tf.tensor1d(labels, 'int32');
          const f = (t: tf.Tensor) =>
            tf.getBackend() === 'wasm'
              ? negatedLoss(t, y, reduction)
              : tf.neg(tf.mean(attackReference(tf.neg(t), y)).mul(reduction === 'mean' ? 1 : 17));
          return [f(u!), ...tf.grads(f)([u!])];
        });
        assert.ok(err <= TOL, `K ${k} ${reduction}: relative error ${err}`);
      }
    }
  });

  test('inputs the kernel does not cover, and backends without it, give null (the caller falls back)', () => {
    const z = tf.zeros([4, 3]);
    assert.equal(
      fusedLoss(z, tf.zeros([4], 'bool'), {
        kind: 'crossentropy',
        reduction: 'none',
        negate: false,
        scale: 1,
      }),
      null,
    );
    assert.equal(
      fusedLoss(z, tf.zeros([5], 'int32'), {
        kind: 'crossentropy',
        reduction: 'none',
        negate: false,
        scale: 1,
      }),
      null,
    );
    assert.equal(
      fusedLoss(z, tf.zeros([4], 'int32'), { kind: 'logistic', reduction: 'none', negate: false, scale: 1 }),
      null,
    );
    tf.setBackend('cpu');
    try {
      assert.equal(
        fusedLoss(z, tf.zeros([4], 'int32'), {
          kind: 'crossentropy',
          reduction: 'none',
          negate: false,
          scale: 1,
        }),
        null,
      );
    } finally {
      tf.setBackend('wasm');
    }
  });
});

/** The tfjs formula of Sgd before the fused kernel (train/sgd.ts), one step on plain tensors. */
function oldSgdStep(
  w: tf.Tensor,
  g: tf.Tensor,
  v: tf.Tensor | null,
  lr: number,
  m: number,
  wd: number,
): { w: tf.Tensor; v: tf.Tensor | null } {
  const [wNew, vNew] = tf.tidy(() => {
    let gg = wd > 0 ? tf.add(g, tf.mul(w, wd)) : g;
    const out: tf.Tensor[] = [];
    if (m > 0) {
      gg = tf.add(tf.mul(v!, m), gg);
      out.push(gg);
    }
    return [tf.sub(w, tf.mul(gg, lr)), ...out];
  });
  return { w: wNew!, v: vNew ?? null };
}

describe('fused SGD update', () => {
  const settings = [
    { momentum: 0, weightDecay: 0 },
    { momentum: 0, weightDecay: 5e-4 },
    { momentum: 0.9, weightDecay: 0 },
    { momentum: 0.5, weightDecay: 1e-3 },
  ];

  test('the SIMD module validates and binds to the wasm heap', () => {
    assert.ok(WebAssembly.validate(simdModuleBytes(false)));
    assert.ok(WebAssembly.validate(simdModuleBytes(true)));
    assert.ok(simdLoops(tf.backend() as WasmBackend), 'SIMD loops on the heap');
    assert.ok(hasKernel(SGD_UPDATE_KERNEL));
  });

  for (const s of settings)
    for (const shared of [false, true])
      test(`Sgd (momentum ${s.momentum}, weight decay ${s.weightDecay}) gives the bits of the tfjs formula, on wasm and cpu${shared ? ' (weights shared: fresh outputs)' : ' (in place)'}`, () => {
        const rng = new Rng(7);
        // odd sizes exercise the scalar tail of the 4-lane loop
        for (const shape of [[3], [37, 5], [4, 4, 3, 7]]) {
          const w0 = randn(rng, shape);
          const grads = [randn(rng, shape), randn(rng, shape), randn(rng, shape)];
          const run = () => {
            // built in a tidy: the initial tensor would otherwise share the variable's data
            const w = tf.tidy(() => tf.variable(tf.tensor(w0.values, shape)));
            const opt = new Sgd(0.05, s.momentum, s.weightDecay);
            for (const g of grads) {
              const gt = tf.tensor(g.values, shape);
              // a clone shares the weights' data (the Identity kernel): the update must not write over it
              const snapshot = shared ? tf.clone(w) : undefined;
              const previous = w.dataSync().slice();
              const before = w.dataId;
              opt.step([w], { [w.name]: gt });
              assert.equal(w.dataId === before, !shared, 'in place exactly when unshared');
              if (snapshot) assert.deepEqual(snapshot.dataSync(), previous);
              snapshot?.dispose();
              gt.dispose();
            }
            const out = w.dataSync().slice();
            w.dispose();
            opt.dispose();
            return out;
          };
          const formula = (backend: string) => {
            tf.setBackend(backend);
            try {
              let w = tf.tensor(w0.values, shape);
              let v: tf.Tensor | null = s.momentum > 0 ? tf.zeros(shape) : null;
              for (const g of grads) {
                const gt = tf.tensor(g.values, shape);
                const next = oldSgdStep(w, gt, v, 0.05, s.momentum, s.weightDecay);
                tf.dispose([w, gt, ...(v ? [v] : [])]);
                w = next.w;
                v = next.v;
              }
              const out = w.dataSync().slice();
              tf.dispose([w, ...(v ? [v] : [])]);
              return out;
            } finally {
              tf.setBackend('wasm');
            }
          };
          const got = run();
          assert.deepEqual(got, formula('wasm'), `shape [${shape}] vs wasm`);
          assert.deepEqual(got, formula('cpu'), `shape [${shape}] vs cpu`);
        }
      });

  test('the update kernel (fresh outputs) and its JS fallback loop compute the same bits', () => {
    const rng = new Rng(9);
    const n = 1003;
    for (const s of settings) {
      const [w, g, v] = [randn(rng, [n]), randn(rng, [n]), randn(rng, [n])];
      const [got, gotV] = tf.tidy(() => {
        const inputs = { w: tf.tensor(w.values), g: tf.tensor(g.values), v: tf.tensor(v.values) };
        const out = tf.engine().runKernel(SGD_UPDATE_KERNEL, inputs, { lr: 0.1, ...s }) as tf.Tensor[];
        return out.map((t) => t.dataSync().slice());
      });
      const h = new Float32Array(5 * n);
      h.set(w.values, 0);
      h.set(g.values, n);
      h.set(v.values, 2 * n);
      sgdJs(h, { outW: 12 * n, outV: 16 * n, w: 0, g: 4 * n, v: 8 * n, n, lr: 0.1, ...s });
      assert.deepEqual(got, h.slice(3 * n, 4 * n));
      if (s.momentum > 0) assert.deepEqual(gotV, h.slice(4 * n, 5 * n));
    }
  });

  test("an in-place update drops a conv's kept im2col of the variable (no stale filter gradient)", () => {
    setDirectConv(false); // the im2col path, which keeps the forward's col matrix
    try {
      const rng = new Rng(12);
      const x = tf.tidy(() => tf.variable(tf.tensor(randn(rng, [2, 7, 7, 2]).values, [2, 7, 7, 2])));
      const f = tf.tensor(randn(rng, [3, 3, 2, 4]).values, [3, 3, 2, 4]);
      const dy = tf.tensor(randn(rng, [2, 5, 5, 4]).values, [2, 5, 5, 4]);
      const filterGrad = () =>
        tf.engine().runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          {
            strides: 1,
            pad: 'valid',
            dataFormat: 'NHWC',
            dilations: 1,
            filterShape: [3, 3, 2, 4],
          },
        ) as tf.Tensor;
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid').dispose(); // keeps col(x)
      const id = x.dataId;
      assert.ok(fusedSgdUpdate(x, tf.onesLike(x), undefined, { lr: 0.5, momentum: 0, weightDecay: 0 }));
      assert.equal(x.dataId, id, 'in place');
      const got = filterGrad(); // would read the kept col matrix of the old x
      const [xs, fs, dys] = [x, f, dy].map((t) => ({ values: t.dataSync() as Float32Array, shape: t.shape }));
      tf.setBackend('cpu');
      let want: Float32Array;
      try {
        want = tf.tidy(() => {
          const [xc, fc, dyc] = [xs, fs, dys].map((d) => tf.tensor(d!.values, d!.shape));
          const conv = (u: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2d(xc as tf.Tensor4D, u as tf.Tensor4D, 1, 'valid'), dyc!));
          return tf.grad(conv)(fc!).dataSync() as Float32Array;
        });
      } finally {
        tf.setBackend('wasm');
      }
      assert.ok(
        relError(got.dataSync(), want) <= 1e-5,
        `filter gradient error ${relError(got.dataSync(), want)}`,
      );
      tf.dispose([x, f, dy, got]);
    } finally {
      setDirectConv(true);
    }
  });

  test('in place only when nothing else shares the weights; a snapshot keeps its values', () => {
    const g = tf.tensor([1, 1, 1, 1, 1]);
    const attrs = { lr: 0.5, momentum: 0, weightDecay: 0 };
    const w = tf.tidy(() => tf.variable(tf.tensor([1, 2, 3, 4, 5])));
    const id = w.dataId;
    assert.ok(fusedSgdUpdate(w, g, undefined, attrs));
    assert.equal(w.dataId, id);
    assert.deepEqual(Array.from(w.dataSync()), [0.5, 1.5, 2.5, 3.5, 4.5]);
    const snapshot = tf.clone(w);
    const flat = tf.reshape(w, [5, 1]);
    assert.ok(fusedSgdUpdate(w, g, undefined, attrs));
    assert.notEqual(w.dataId, id);
    assert.deepEqual(Array.from(w.dataSync()), [0, 1, 2, 3, 4]);
    assert.deepEqual(Array.from(snapshot.dataSync()), [0.5, 1.5, 2.5, 3.5, 4.5]);
    assert.deepEqual(Array.from(flat.dataSync()), [0.5, 1.5, 2.5, 3.5, 4.5]);
    // the gradient itself sharing the weights' data (d/dw of w^2 / 2 is w) is no exception
    const same = tf.clone(w);
    assert.ok(fusedSgdUpdate(w, same, undefined, attrs));
    assert.deepEqual(Array.from(w.dataSync()), [0, 0.5, 1, 1.5, 2]);
    assert.deepEqual(Array.from(same.dataSync()), [0, 1, 2, 3, 4]);
    assert.equal(fusedSgdUpdate(w, tf.zeros([4]), undefined, attrs), false);
    tf.dispose([w, g, snapshot, flat, same]);
  });
});

test('the relu gradient (one kernel on wasm) matches tfjs formula dy * step(x) on cpu', () => {
  assert.ok(hasKernel(RELU_GRAD_KERNEL));
  const rng = new Rng(5);
  for (const shape of [[7], [3, 5, 2], [2, 9, 9, 3], [128, 13]]) {
    const x = randn(rng, shape);
    x.values[0] = 0; // the gradient at 0 is 0, as tfjs's step(0) = 0
    const { err } = compareWithCpu([x, randn(rng, shape)], (u, r) => [
      tf.relu(u!),
      ...tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), r!)))([u!]),
      // a relu inside a layer-like chain, differentiated twice over
      ...tf.grads((t: tf.Tensor) => tf.sum(tf.relu(tf.mul(tf.relu(t), r!))))([u!]),
    ]);
    assert.ok(err === 0, `[${shape}]: error ${err}`);
  }
});

test('without SIMD the kernels run their JS loops: same values (bias add, sums, relu and SGD)', () => {
  const rng = new Rng(8);
  const shape = [37, 11];
  const [w0, g0, x0, dy0] = [randn(rng, shape), randn(rng, shape), randn(rng, shape), randn(rng, shape)];
  const run = () =>
    tf.tidy(() => {
      const w = tf.tensor(w0.values, shape);
      const g = tf.tensor(g0.values, shape);
      const x = tf.tensor(x0.values, shape);
      const b = tf.tensor(g0.values.slice(0, 11));
      const sgd = tf.engine().runKernel(
        SGD_UPDATE_KERNEL,
        { w, g, v: x },
        {
          lr: 0.1,
          momentum: 0.9,
          weightDecay: 1e-3,
        },
      ) as tf.Tensor[];
      const relu = tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.tensor(dy0.values, shape))))([x]);
      return [...sgd, ...relu, tf.add(x, b), tf.sum(x, 0)].map((t) => Array.from(t.dataSync()));
    });
  const simd = run();
  setSimdEnabled(false);
  try {
    assert.equal(simdLoops(tf.backend() as WasmBackend), null);
    const js = run();
    // the same float32 operations in the same order, except the column sum's order of terms
    simd.slice(0, -1).forEach((a, i) => {
      assert.deepEqual(js[i], a, `output ${i}`);
    });
    assert.ok(js.at(-1)!.every((v, j) => Math.abs(v - simd.at(-1)![j]!) <= 1e-5 * Math.max(1, Math.abs(v))));
    for (const c of CASES.filter((k) => k.name.startsWith('bias add and leading-axes')))
      assert.ok(c.run(new Rng(3)).err <= KERNEL_TOL, c.name);
  } finally {
    setSimdEnabled(true);
  }
});
