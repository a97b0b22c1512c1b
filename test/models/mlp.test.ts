import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { countParams, createModel, estimateWeights, listModels, modelInfo } from '../../src/models/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import { loadTorchModel, saveTorchSafetensors, torchStateDict } from '../../src/train/torch-checkpoint.js';
import { train } from '../../src/train/train.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { CLI_MAIN, nodeArgs } from '../experiments/fixtures/paths.js';
import { mnistSlice, weightsOf } from '../train/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-mlp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

before(async () => {
  await initBackend({ quiet: true });
});

const MNIST = [28, 28, 1];
/** (d + 1) m + (depth - 1)(m + 1) m + (m + 1) K, by hand. */
const count = (d: number, m: number, depth: number, k: number) =>
  (d + 1) * m + (depth - 1) * (m + 1) * m + (m + 1) * k;

describe('mlp: the width-m MLP family', () => {
  it('builds at several widths and depths: layers of m units, logits, parameter counts', () => {
    for (const [m, depth, shape] of [
      [5, 1, MNIST],
      [16, 3, MNIST],
      [7, 2, [2]],
    ] as [number, number, number[]][]) {
      const opts = { width: m, inputShape: shape, numClasses: 10, seed: 0, params: { depth } };
      const model = createModel('mlp', opts);
      const d = shape.reduce((a, b) => a * b, 1);
      assert.equal(countParams(model), count(d, m, depth, 10));
      assert.equal(estimateWeights('mlp', opts), count(d, m, depth, 10));
      for (let i = 1; i <= depth; i++) assert.deepEqual(model.getLayer(`fc${i}`).outputShape, [null, m]);
      const out = tf.tidy(() => (model.predict(tf.zeros([3, ...shape])) as tf.Tensor).shape);
      assert.deepEqual(out, [3, 10]);
      assert.deepEqual(modelInfo(model)?.options.params, { depth });
      model.dispose();
    }
    // depth 1 by default; 784*100 + 100 + 100*10 + 10 at the default width
    const plain = createModel('mlp', { inputShape: MNIST, numClasses: 10, seed: 0 });
    assert.equal(countParams(plain), 79_510);
    plain.dispose();
    const listed = listModels().find((e) => e.name === 'mlp');
    assert.deepEqual(listed?.paramDefaults, { depth: 1 });
    assert.deepEqual(listed?.widthLayers, ['fc1']);
    assert.equal(listed?.torch, true);
  });

  it("PyTorch's nn.Linear default init: every weight and bias in U(+-1/sqrt(fan_in)), filling it; seeded", () => {
    const opts = { width: 300, inputShape: MNIST, numClasses: 10, params: { depth: 2 } };
    const model = createModel('mlp', { ...opts, seed: 3 });
    for (const [name, fanIn] of [
      ['fc1', 784],
      ['fc2', 300],
      ['fc3', 300],
    ] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      for (const t of model.getLayer(name).getWeights()) {
        const v = t.dataSync();
        const max = Array.from(v).reduce((a, x) => Math.max(a, Math.abs(x)), 0);
        assert.ok(max <= bound, `${name}: |w| ${max} > ${bound}`);
        if (v.length >= 300) assert.ok(max > 0.95 * bound, `${name}: ${max} does not fill ${bound}`);
      }
    }
    const again = createModel('mlp', { ...opts, seed: 3 });
    const other = createModel('mlp', { ...opts, seed: 4 });
    assert.deepEqual(weightsOf(again), weightsOf(model));
    assert.notDeepEqual(weightsOf(other), weightsOf(model));
    for (const x of [model, again, other]) x.dispose();
  });

  it('bad parameters are one-line errors', () => {
    for (const params of [{ depth: 0 }, { depth: 1.5 }, { layers: 2 }]) {
      assert.throws(
        () => createModel('mlp', { width: 4, inputShape: MNIST, numClasses: 10, seed: 0, params }),
        (e: unknown) =>
          e instanceof PoisonlabError && /^model mlp: /.test(e.message) && !e.message.includes('\n'),
      );
    }
  });

  it('a short training run on a slice of MNIST raises test accuracy', async () => {
    const { train: trainSet, test } = mnistSlice(1000, 500);
    const model = createModel('mlp', { width: 64, inputShape: MNIST, numClasses: 10, seed: 0 });
    const before = evaluate(model, test).accuracy;
    await train(model, { train: trainSet, test }, { epochs: 2, batchSize: 32, lr: 0.1, seed: 0 });
    const after = evaluate(model, test).accuracy;
    assert.ok(before < 0.3, `untrained accuracy ${before}`);
    assert.ok(after > 0.7 && after > before + 0.4, `accuracy ${before} -> ${after}`);
    model.dispose();
  });

  it('.safetensors export and import give back the same weights, by its metadata or by its shapes alone', () => {
    const model = createModel('mlp', {
      width: 24,
      inputShape: MNIST,
      numClasses: 10,
      seed: 5,
      params: { depth: 3 },
    });
    const keys = torchStateDict(model).map(([k]) => k);
    assert.deepEqual(
      keys,
      [0, 2, 4, 6].flatMap((i) => [`layers.${i}.weight`, `layers.${i}.bias`]),
    );
    // PyTorch's layout: Linear weights are [out, in]
    assert.deepEqual(torchStateDict(model)[0]![1].shape, [24, 784]);
    const path = join(dir, 'mlp.safetensors');
    saveTorchSafetensors(path, model);
    const back = loadTorchModel(path);
    assert.equal(back.name, 'mlp');
    assert.equal(back.width, 24);
    assert.deepEqual(modelInfo(back.model)?.options.params, { depth: 3 });
    assert.deepEqual(weightsOf(back.model), weightsOf(model));
    back.model.dispose();
    // a state_dict without poisonlab's metadata: the keys and shapes say mlp, width 24, depth 3
    const bare = join(dir, 'bare.safetensors');
    writeSafetensors(bare, torchStateDict(model), { format: 'pt' });
    const guessed = loadTorchModel(bare, { inputShape: MNIST });
    assert.equal(guessed.name, 'mlp');
    assert.equal(guessed.width, 24);
    assert.deepEqual(modelInfo(guessed.model)?.options.params, { depth: 3 });
    assert.deepEqual(weightsOf(guessed.model), weightsOf(model));
    guessed.model.dispose();
    model.dispose();
  });

  it('`poisonlab train --model mlp --width 64 --limit 500 --epochs 1 --json` runs end to end', () => {
    const run = spawnSync(
      process.execPath,
      nodeArgs(
        CLI_MAIN,
        'train',
        '--model',
        'mlp',
        '--width',
        '64',
        '--limit',
        '500',
        '--epochs',
        '1',
        '--json',
      ),
      { encoding: 'utf8', timeout: 240_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as {
      model: string;
      width: number;
      params: number;
      testAccuracy: number;
    };
    assert.equal(out.model, 'mlp');
    assert.equal(out.width, 64);
    assert.equal(out.params, count(784, 64, 1, 10));
    // 4 steps of 128 on 400 images: above chance (10 %), not yet good
    assert.ok(out.testAccuracy > 0.15, `test accuracy ${out.testAccuracy}`);
  });
});
