/**
 * The attack's view of its surrogate: `surrogateMode: 'train'` runs the ascent with the surrogate's dropout on
 * (the original never puts its AlexNet in eval mode), its masks seeded by the attack's seed; 'eval' (the
 * default) in inference mode. And the learning-rate schedule of the training options (the original's AlexNet
 * recipe: lr halved every 20 epochs).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type * as tf from '@tensorflow/tfjs';
import { createRegisteredAttack } from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { createModel, SeededDropout } from '../../src/models/index.js';
import { Sgd } from '../../src/train/sgd.js';
import { learningRateAt, train } from '../../src/train/train.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

before(async () => {
  await initBackend({ quiet: true });
});

/** `n` random 32x32x3 images in [0, 1] with labels 0..9. */
function tinyCifar(n: number): Dataset {
  const rng = new Rng(7);
  const x = new Float32Array(n * 3072);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  return {
    name: 'tiny-cifar',
    x,
    y: Int32Array.from({ length: n }, (_, i) => i % 10),
    sampleShape: [32, 32, 3],
    classNames: Array.from({ length: 10 }, (_, k) => String(k)),
  };
}

const alexnet = () => createModel('alexnet', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 });

async function poison(
  surrogate: tf.LayersModel,
  data: Dataset,
  seed: number,
  surrogateMode: 'eval' | 'train',
): Promise<Float32Array> {
  const attack = createRegisteredAttack('per-sample-perturbation', {
    budget: 1,
    epochs: 2,
    step: 0.5,
    batchSize: 8,
    seed,
    surrogateMode,
  });
  const r = await attack.poison(data, { surrogate });
  return r.dataset.x;
}

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe("surrogateMode 'train': dropout active in the attack, seeded", () => {
  it('two seeds give different poisons, each reproducible; eval mode is deterministic across seeds of the masks', async () => {
    const data = tinyCifar(16);
    const model = alexnet();
    const a1 = await poison(model, data, 1, 'train');
    const a2 = await poison(model, data, 1, 'train');
    const b = await poison(model, data, 2, 'train');
    assert.ok(same(a1, a2), 'the same seed gives the same poison');
    assert.ok(!same(a1, b), 'another seed gives another poison');
    // A fresh surrogate object with the same weights gives the same poison: the masks depend on the attack's seed
    // only, not on what ran on the surrogate before.
    const again = alexnet();
    assert.ok(same(await poison(again, data, 1, 'train'), a1));
    // Dropout matters: eval mode with the same seed (same minibatch order) is another poison.
    const e = await poison(model, data, 1, 'eval');
    assert.ok(!same(e, a1), "'train' differs from 'eval'");
    model.dispose();
    again.dispose();
  });

  it('a killed train-mode attack resumes with the dropout masks it would have drawn: the uninterrupted poison', async () => {
    const data = tinyCifar(16);
    const model = alexnet();
    const params = { budget: 1, epochs: 4, step: 0.5, batchSize: 8, seed: 5, surrogateMode: 'train' };
    const whole = await createRegisteredAttack('per-sample-perturbation', params).poison(data, {
      surrogate: model,
    });
    const dir = mkdtempSync(join(tmpdir(), 'poisonlab-train-mode-'));
    const checkpoint = { path: join(dir, 'state.npz'), fingerprint: 'test', everySeconds: 0 };
    await assert.rejects(
      createRegisteredAttack('per-sample-perturbation', params).poison(data, {
        surrogate: model,
        checkpoint,
        onProgress: (done) => {
          if (done === 5) throw new Error('killed');
        },
      }),
      /killed/,
    );
    const resumed = await createRegisteredAttack('per-sample-perturbation', params).poison(data, {
      surrogate: model,
      checkpoint,
    });
    assert.equal(resumed.report.resumedEpoch, 2);
    assert.ok(same(resumed.dataset.x, whole.dataset.x), 'the resumed poison is the uninterrupted one');
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  });

  it("the surrogate's dropout streams are put back after the attack", async () => {
    const model = alexnet();
    const drops = model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
    assert.equal(drops.length, 2);
    const before = drops.map((d) => JSON.stringify(d.maskRng.getState()));
    await poison(model, tinyCifar(8), 3, 'train');
    assert.deepEqual(
      drops.map((d) => JSON.stringify(d.maskRng.getState())),
      before,
    );
    model.dispose();
  });

  it('the report records the mode and the input view; a wrong mode is a one-line error', async () => {
    const model = alexnet();
    const attack = createRegisteredAttack('l21-perturbation', {
      budget: 1,
      epochs: 1,
      batchSize: 8,
      surrogateMode: 'train',
    });
    const r = await attack.poison(tinyCifar(8), { surrogate: model });
    assert.equal(r.report.params['surrogateMode'], 'train');
    assert.equal(r.report.params['surrogateInput'], 'raw');
    assert.throws(
      () => createRegisteredAttack('l21-perturbation', { surrogateMode: 'dropout' }),
      (e: unknown) => e instanceof PoisonlabError && /surrogateMode/.test(e.message),
    );
    await assert.rejects(
      createRegisteredAttack('l21-perturbation', { epochs: 1, surrogateInput: 'normalized' }).poison(
        tinyCifar(8),
        { surrogate: model },
      ),
      /has no input normalisation/,
    );
    model.dispose();
  });
});

describe('learning-rate step decay (TrainOptions.lrDecay)', () => {
  it("is the original's: lr until epoch 19, then halved at epochs 20, 40, ... (advgencifar.py)", () => {
    const o = { lr: 0.1, lrDecay: { every: 20, factor: 0.5 } };
    assert.equal(learningRateAt(o, 1), 0.1);
    assert.equal(learningRateAt(o, 19), 0.1);
    assert.equal(learningRateAt(o, 20), 0.05);
    assert.equal(learningRateAt(o, 39), 0.05);
    assert.equal(learningRateAt(o, 40), 0.025);
    assert.equal(learningRateAt(o, 100), 0.1 / 32);
    assert.equal(learningRateAt({ lr: 0.1 }, 100), 0.1);
  });

  it('training with a schedule equals training epoch by epoch at the scheduled rates', async () => {
    const data = tinyCifar(32);
    const make = () =>
      createModel('cifar-cnn', { width: 8, inputShape: [32, 32, 3], numClasses: 10, seed: 4 });
    const scheduled = make();
    // The rate the optimiser is given before each epoch: 0.2 in epoch 1, 0.05 in epochs 2 and 3.
    const rates: number[] = [];
    const own = Sgd.prototype.setLearningRate;
    Sgd.prototype.setLearningRate = function (lr: number) {
      rates.push(lr);
      own.call(this, lr);
    };
    try {
      await train(
        scheduled,
        { train: data },
        {
          epochs: 3,
          batchSize: 8,
          lr: 0.2,
          seed: 1,
          lrDecay: { every: 2, factor: 0.25 },
        },
      );
    } finally {
      Sgd.prototype.setLearningRate = own;
    }
    assert.deepEqual(rates, [0.2, 0.05, 0.05]);
    const constant = make();
    await train(constant, { train: data }, { epochs: 3, batchSize: 8, lr: 0.2, seed: 1 });
    const w = (m: tf.LayersModel) => m.getWeights().map((t) => Array.from(t.dataSync()));
    assert.notDeepEqual(w(scheduled), w(constant), 'the schedule changes the weights');
    const flat = make();
    await train(
      flat,
      { train: data },
      {
        epochs: 3,
        batchSize: 8,
        lr: 0.2,
        seed: 1,
        lrDecay: { every: 100, factor: 0.25 },
      },
    );
    assert.deepEqual(w(flat), w(constant), 'a decay that never steps is the constant rate');
    for (const m of [scheduled, constant, flat]) m.dispose();
  });

  it('a bad schedule is a one-line error', async () => {
    const model = createModel('cifar-cnn', { width: 4, inputShape: [32, 32, 3], numClasses: 10, seed: 0 });
    await assert.rejects(
      train(
        model,
        { train: tinyCifar(8) },
        { epochs: 1, batchSize: 4, lr: 0.1, seed: 0, lrDecay: { every: 0, factor: 0.5 } },
      ),
      (e: unknown) => e instanceof PoisonlabError && /decay interval/.test(e.message),
    );
    model.dispose();
  });
});
