import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, setNativeEnabled } from '../../src/backend/index.js';
import { createModel } from '../../src/models/index.js';
import { Sgd } from '../../src/train/sgd.js';
import { chooseStepStrategy, minibatchStep } from '../../src/train/step.js';
import { Rng } from '../../src/util/rng.js';
import { nativeTest } from '../backend/needs-native.js';

before(async () => {
  await initBackend({ prefer: 'auto', quiet: true });
});

/** Runs `steps` SGD steps of a seeded two-layer net on fixed batches; returns W, the losses and correct counts. */
function run(
  steps: number,
  opts: { width: number; d: number; batch: number; lr: number; momentum?: number },
) {
  const model = createModel('twolayer', { width: opts.width, inputShape: [opts.d], numClasses: 2, seed: 3 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = new Sgd(opts.lr, opts.momentum ?? 0);
  const rng = new Rng(11);
  const step = minibatchStep(
    model,
    vars,
    sgd,
    'logistic',
    chooseStepStrategy(model, 'logistic', sgd, opts.batch),
  );
  const log: number[][] = [];
  for (let s = 0; s < steps; s++) {
    const xs = Float32Array.from({ length: opts.batch * opts.d }, () => rng.normal() * 2);
    const ys = Int32Array.from({ length: opts.batch }, () => rng.int(2));
    const [x, y] = [tf.tensor2d(xs, [opts.batch, opts.d]), tf.tensor1d(ys, 'int32')];
    const r = step(x, y);
    log.push([r.loss.dataSync()[0]!, r.correct.dataSync()[0]!]);
    tf.dispose([x, y, r.loss, r.correct]);
  }
  const w = vars[0]!.dataSync().slice();
  sgd.dispose();
  model.dispose();
  return { w, log };
}

describe('the fused two-layer minibatch step', () => {
  const agrees = (native: boolean) => () => {
    setNativeEnabled(native);
    const opts = { width: 37, d: 13, batch: 9, lr: 0.5 };
    let fused: ReturnType<typeof run>;
    try {
      fused = run(6, opts);
    } finally {
      setNativeEnabled(true);
    }
    tf.setBackend('cpu');
    let ref: ReturnType<typeof run>;
    try {
      ref = run(6, opts);
    } finally {
      tf.setBackend('wasm');
    }
    for (let s = 0; s < 6; s++) {
      assert.ok(Math.abs(fused.log[s]![0]! - ref.log[s]![0]!) < 1e-5, `loss at step ${s}`);
      assert.equal(fused.log[s]![1], ref.log[s]![1], `correct count at step ${s}`);
    }
    const scale = Math.max(...ref.w.map(Math.abs));
    assert.ok(
      fused.w.every((v, i) => Math.abs(v - ref.w[i]!) <= 1e-5 * scale),
      'W after 6 steps',
    );
  };
  const name = "gives the generic tfjs path's weights, losses and accuracies (cpu backend as reference";
  nativeTest(`${name}; native heap ops)`, agrees(true));
  it(`${name}; wasm heap ops)`, agrees(false));

  nativeTest('runs as two products and no tfjs kernels; momentum takes the generic path', async () => {
    const model = createModel('twolayer', { width: 16, inputShape: [8], numClasses: 2, seed: 1 });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const [x, y] = [tf.randomNormal([4, 8]), tf.tensor1d([0, 1, 1, 0], 'int32')];
    const kernels = async (sgd: Sgd) => {
      const strategy = chooseStepStrategy(model, 'logistic', sgd, 4);
      assert.equal(strategy, sgd.plainLearningRate() === null ? 'generic' : 'two-layer-fused');
      const step = minibatchStep(model, vars, sgd, 'logistic', strategy);
      return (await tf.profile(() => tf.dispose(Object.values(step(x, y))))).kernels.map((k) => k.name);
    };
    const plain = new Sgd(0.1);
    const withMomentum = new Sgd(0.1, 0.9);
    assert.ok(!(await kernels(plain)).some((k) => k === 'BatchMatMul' || k === 'PoisonlabDenseBias'));
    assert.ok((await kernels(withMomentum)).includes('PoisonlabDenseBias'));
    tf.dispose([x, y]);
    plain.dispose();
    withMomentum.dispose();
    model.dispose();
  });
});
