import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createAttack, createRegisteredAttack, negatedLoss } from '../../src/attacks/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { mnistSlice, trainTinySurrogate } from './fixtures.js';

await tf.setBackend('cpu');

const data = mnistSlice(192, 1000);
const surrogate = await trainTinySurrogate(mnistSlice(512));

function assertPixelsInRange(ds: Dataset): void {
  for (let i = 0; i < ds.x.length; i++) assert.ok(ds.x[i]! >= 0 && ds.x[i]! <= 1, `pixel ${i} = ${ds.x[i]}`);
}

/** The paper's regimes through the one registry (A: budget C, B: budget B, C: beta). */
const regimeA = (p: Record<string, unknown>) => createRegisteredAttack('A', p);
const regimeB = (p: Record<string, unknown>) => createRegisteredAttack('B', p);
const regimeC = (p: Record<string, unknown>) => createRegisteredAttack('C', p);

const isOneLineError = (pattern: RegExp) => (e: unknown) =>
  e instanceof PoisonlabError && !e.message.includes('\n') && pattern.test(e.message);

test('the negated loss is -CE(-f, y) and its ascent lowers the true logit', () => {
  const z = tf.tensor2d([[1, 2, 3]]);
  const y = tf.tensor1d([2], 'int32');
  const v = negatedLoss(z, y).dataSync()[0]!;
  const ce = Math.log(Math.exp(-1) + Math.exp(-2) + Math.exp(-3)) + 3; // CE(-z, 2)
  assert.ok(Math.abs(v + ce) < 1e-5, `${v} vs ${-ce}`);
  const g = tf
    .grad((t: tf.Tensor) => negatedLoss(t, y))(z)
    .dataSync();
  assert.ok(g[2]! < 0, 'ascending must push the true class logit down');
  tf.dispose([z, y]);
});

test('regime A: sum of ||delta_i|| <= C sqrt(n), pixels in [0,1], labels kept, surrogate loss rises', async () => {
  const C = 0.5;
  const attack = regimeA({ budget: C, epochs: 3, step: 2, batchSize: 64, seed: 0, reduction: 'sum' });
  const { dataset, deltaNorm, report } = await attack.poison(data, { surrogate });
  const radius = C * Math.sqrt(192);
  assert.equal(report.budget, radius);
  assert.ok(report.deltaNormSum <= radius * (1 + 1e-4), `sum ${report.deltaNormSum} > ${radius}`);
  // The budget binds here (the unconstrained ascent would go much further).
  assert.ok(report.deltaNormSum >= radius * 0.99, `budget not used: ${report.deltaNormSum}`);
  assert.ok(report.samplesChanged < 192, 'the l2,1 projection should zero some samples');
  assert.ok(Math.abs(deltaNorm.reduce((a, b) => a + b, 0) - report.deltaNormSum) < 1e-3);
  assertPixelsInRange(dataset);
  assert.deepEqual(dataset.y, data.y);
  assert.ok(report.surrogateAfter!.loss > report.surrogateBefore!.loss, JSON.stringify(report));
  assert.equal(report.labelsFlipped, 0);
});

test('regime A with the original mean reduction and projection every step stays in budget', async () => {
  const C = 0.2;
  const attack = regimeA({ budget: C, epochs: 2, step: 50, batchSize: 64, seed: 1, projectEvery: 'step' });
  const { dataset, report } = await attack.poison(data, { surrogate });
  assert.ok(report.deltaNormSum <= C * Math.sqrt(192) * (1 + 1e-4));
  assert.ok(report.deltaNormSum > 0);
  assertPixelsInRange(dataset);
  assert.ok(report.surrogateAfter!.loss > report.surrogateBefore!.loss);
});

test('regime B: every ||delta_i|| <= B, pixels in [0,1], labels kept, surrogate loss rises', async () => {
  const B = 1;
  const attack = regimeB({ budget: B, epochs: 2, step: 0.5, batchSize: 64, seed: 2 });
  const { dataset, deltaNorm, report } = await attack.poison(data, { surrogate });
  assert.equal(report.budget, B);
  assert.ok(report.deltaNormMax <= B * (1 + 1e-5), `max ${report.deltaNormMax}`);
  assert.ok(deltaNorm.every((r) => r <= B * (1 + 1e-5)));
  // Normalised steps of 0.5 over 2 epochs reach the ball's surface, less what clipping at 0 and 1 removes.
  assert.ok(report.deltaNormSum > 0.75 * 192 * B, `sum ${report.deltaNormSum}`);
  assertPixelsInRange(dataset);
  assert.deepEqual(dataset.y, data.y);
  assert.ok(report.surrogateAfter!.loss > report.surrogateBefore!.loss);
  assert.ok(report.surrogateAfter!.accuracy < report.surrogateBefore!.accuracy);
});

test('same seed gives byte-identical poison; another seed a different one', async () => {
  const make = (seed: number) => regimeA({ budget: 1, epochs: 2, step: 30, batchSize: 50, seed });
  const a = await make(4).poison(data, { surrogate });
  const b = await make(4).poison(data, { surrogate });
  const c = await make(5).poison(data, { surrogate });
  assert.deepEqual(Buffer.from(a.dataset.x.buffer), Buffer.from(b.dataset.x.buffer));
  assert.deepEqual(a.deltaNorm, b.deltaNorm);
  assert.notDeepEqual(Buffer.from(a.dataset.x.buffer), Buffer.from(c.dataset.x.buffer));
});

test('no tensor leak: the count is the same at every epoch end and back to the start afterwards', async () => {
  const start = tf.memory().numTensors;
  const perEpoch = Math.ceil(192 / 64);
  for (const projectEvery of ['epoch', 'step'] as const) {
    const counts: number[] = [];
    const attack = regimeB({ budget: 1, epochs: 3, step: 0.3, batchSize: 64, seed: 0, projectEvery });
    await attack.poison(data, {
      surrogate,
      onProgress: (done, total) => {
        assert.equal(total, 3 * perEpoch);
        if (done % perEpoch === 0) counts.push(tf.memory().numTensors);
      },
    });
    assert.equal(counts.length, 3);
    assert.ok(
      counts.every((c) => c === counts[0]),
      `${projectEvery}: tensors per epoch ${counts}`,
    );
    assert.equal(tf.memory().numTensors, start, `${projectEvery}: leaked ${tf.memory().numTensors - start}`);
  }
});

test('regime C: flip rate near beta (binomial 5 sigma), flipped labels are (y + 1) mod K', async () => {
  const rng = new Rng(1);
  const n = 20000;
  const y = Int32Array.from({ length: n }, () => rng.int(10));
  const ds: Dataset = {
    name: 'labels',
    x: new Float32Array(n),
    y,
    sampleShape: [1],
    classNames: [...'0123456789'],
  };
  const beta = 0.3;
  const { dataset, report } = await regimeC({ beta, seed: 3 }).poison(ds);
  const sigma = Math.sqrt(n * beta * (1 - beta));
  assert.ok(Math.abs(report.labelsFlipped - n * beta) < 5 * sigma, `${report.labelsFlipped} flips`);
  let changed = 0;
  for (let i = 0; i < n; i++) {
    if (dataset.y[i] !== y[i]) {
      changed++;
      assert.equal(dataset.y[i], (y[i]! + 1) % 10);
    }
  }
  assert.equal(changed, report.labelsFlipped);
  assert.equal(report.budget, beta);
  assert.deepEqual(dataset.x, ds.x);
  const again = await regimeC({ beta, seed: 3 }).poison(ds);
  assert.deepEqual(again.dataset.y, dataset.y);
});

test('regime C on a binary task swaps the two classes (y -> -y); beta 0 and 1 are exact', async () => {
  const y = Int32Array.from({ length: 100 }, (_, i) => i % 2);
  const ds: Dataset = {
    name: 'binary',
    x: new Float32Array(100),
    y,
    sampleShape: [1],
    classNames: ['-1', '+1'],
  };
  const all = await regimeC({ beta: 1, seed: 0 }).poison(ds);
  assert.deepEqual(
    all.dataset.y,
    Int32Array.from(y, (v) => 1 - v),
  );
  const none = await regimeC({ beta: 0, seed: 0 }).poison(ds);
  assert.deepEqual(none.dataset.y, y);
});

test('a one-logit (binary) surrogate uses the logistic analogue and its loss rises', async () => {
  const rng = new Rng(8);
  const n = 128;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    x[2 * i] = (y[i] ? 0.7 : 0.3) + 0.05 * rng.normal();
    x[2 * i + 1] = 0.5 + 0.05 * rng.normal();
  }
  const ds: Dataset = { name: 'toy', x, y, sampleShape: [2], classNames: ['-1', '+1'] };
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 1, inputShape: [2], weights: [tf.tensor2d([[10], [0]]), tf.tensor1d([-5])] }),
    ],
  });
  const { report } = await regimeB({ budget: 0.3, epochs: 5, step: 0.1, batchSize: 32, seed: 0 }).poison(ds, {
    surrogate: model,
  });
  assert.ok(report.surrogateAfter!.loss > report.surrogateBefore!.loss);
  assert.ok(report.surrogateAfter!.accuracy < 0.5, `accuracy after ${report.surrogateAfter!.accuracy}`);
  model.dispose();
});

test('bad input gives one-line errors', async () => {
  assert.throws(
    () => regimeA({ budget: -1, epochs: 1, step: 0.1, seed: 0 }),
    isOneLineError(/attack l21-perturbation: budget: /),
  );
  assert.throws(
    () => regimeB({ budget: -2, epochs: 1, step: 0.1, seed: 0 }),
    isOneLineError(/attack per-sample-perturbation: budget: /),
  );
  assert.throws(() => regimeC({ beta: 1.5, seed: 0 }), isOneLineError(/attack label-flip: beta: /));
  assert.throws(
    () => createAttack('A', { budget: 'large' }),
    isOneLineError(/attack l21-perturbation: budget/),
  );
  await assert.rejects(
    regimeA({ budget: 1, epochs: 1, step: 0.1, seed: 0 }).poison(data),
    isOneLineError(/surrogate model is required/),
  );
  const wrong = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [784] })] });
  await assert.rejects(
    regimeB({ budget: 1, epochs: 1, step: 0.1, seed: 0 }).poison(data, { surrogate: wrong }),
    isOneLineError(/surrogate input shape \[784\] does not match/),
  );
  // every parameter is checked once, by the entry's schema, when the attack is built
  assert.throws(
    () => regimeB({ budget: 1, epochs: 1, step: 0.1, seed: 0, batchSize: 0 }),
    isOneLineError(/attack per-sample-perturbation: batchSize: /),
  );
  wrong.dispose();
});

test("regime B's raw step rule takes regime A's step: with budgets that never bind both give the same poison", async () => {
  const common = { epochs: 2, step: 0.5, batchSize: 64, seed: 9 };
  const a = await createRegisteredAttack('l21-perturbation', { ...common, budget: 1e6 }).poison(data, {
    surrogate,
  });
  const rawB = await createRegisteredAttack('per-sample-perturbation', {
    ...common,
    budget: 1e6,
    stepRule: 'raw',
  }).poison(data, { surrogate });
  const normB = await createRegisteredAttack('per-sample-perturbation', { ...common, budget: 1e6 }).poison(
    data,
    {
      surrogate,
    },
  );
  assert.deepEqual(Buffer.from(rawB.dataset.x.buffer), Buffer.from(a.dataset.x.buffer));
  assert.notDeepEqual(Buffer.from(normB.dataset.x.buffer), Buffer.from(a.dataset.x.buffer));
  assert.equal(rawB.report.params['stepRule'], 'raw');
  assert.equal(normB.report.params['stepRule'], 'normalized');
  assert.throws(
    () => createRegisteredAttack('per-sample-perturbation', { stepRule: 'unit' }),
    isOneLineError(/stepRule/),
  );
});
