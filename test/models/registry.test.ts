import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import {
  countParams,
  createModel,
  estimateWeights,
  listModels,
  modelInfo,
  torchUniformBound,
} from '../../src/models/index.js';
import { PoisonlabError } from '../../src/util/errors.js';

before(async () => {
  await initBackend({ quiet: true });
});

/** Number of values in all weights, batch-norm running statistics included. */
function allWeights(model: tf.LayersModel): number {
  return model.weights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

function outputShape(model: tf.LayersModel, inputShape: number[], batch = 2): number[] {
  return tf.tidy(
    () => (model.apply(tf.zeros([batch, ...inputShape]), { training: false }) as tf.Tensor).shape,
  );
}

describe('model registry: output shapes and parameter counts (by hand)', () => {
  it('mnist-cnn m=100: 260 + 5020 + 32100 + 1010 = 38,390 parameters, 10 logits', () => {
    const model = createModel('mnist-cnn', { width: 100, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    // conv1 1*5*5*10+10, conv2 10*5*5*20+20, fc1 320*100+100, fc2 100*10+10
    assert.equal(
      countParams(model),
      1 * 25 * 10 + 10 + (10 * 25 * 20 + 20) + (320 * 100 + 100) + (100 * 10 + 10),
    );
    assert.equal(countParams(model), 38_390);
    assert.deepEqual(outputShape(model, [28, 28, 1]), [2, 10]);
    assert.equal(
      estimateWeights('mnist-cnn', { width: 100, inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
      38_390,
    );
    model.dispose();
  });

  it('mnist-cnn m=7 has 320*7+7 + 7*10+10 in its dense layers', () => {
    const model = createModel('mnist-cnn', { width: 7, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    assert.equal(countParams(model), 260 + 5020 + 320 * 7 + 7 + 7 * 10 + 10);
    model.dispose();
  });

  it('cifar-cnn m=50: 456 + 2416 + 48120 + 6050 + 510 parameters', () => {
    const model = createModel('cifar-cnn', { width: 50, inputShape: [32, 32, 3], numClasses: 10, seed: 0 });
    const expected =
      3 * 25 * 6 + 6 + (6 * 25 * 16 + 16) + (400 * 120 + 120) + (120 * 50 + 50) + (50 * 10 + 10);
    assert.equal(countParams(model), expected);
    assert.equal(expected, 57_552);
    assert.deepEqual(outputShape(model, [32, 32, 3]), [2, 10]);
    model.dispose();
  });

  it("'cnn' picks mnist-cnn for 1 channel and cifar-cnn for 3 channels", () => {
    const gray = createModel('cnn', { width: 100, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
    assert.equal(countParams(gray), 38_390);
    assert.equal(modelInfo(gray)?.resolved, 'mnist-cnn');
    const rgb = createModel('cnn', { width: 100, inputShape: [32, 32, 3], numClasses: 10, seed: 0 });
    assert.equal(modelInfo(rgb)?.resolved, 'cifar-cnn');
    assert.equal(countParams(rgb), 456 + 2416 + 48120 + 12100 + 1010);
    gray.dispose();
    rgb.dispose();
  });

  it('twolayer m=1000 on 2-D inputs: 2000 + 1000 values, one logit; flattens images', () => {
    const model = createModel('twolayer', { width: 1000, inputShape: [2], numClasses: 2, seed: 0 });
    assert.equal(countParams(model), 3000);
    assert.deepEqual(outputShape(model, [2]), [2, 1]);
    const img = createModel('twolayer', { width: 16, inputShape: [28, 28, 1], numClasses: 2, seed: 0 });
    assert.equal(countParams(img), 784 * 16 + 16);
    assert.deepEqual(outputShape(img, [28, 28, 1]), [2, 1]);
    model.dispose();
    img.dispose();
  });

  it('alexnet: 23,272,266 parameters (conv 1792+110784+663936+884992+590080, fc 4198400+16781312+40970)', () => {
    const model = createModel('alexnet', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 });
    const conv = (cin: number, cout: number) => cin * 9 * cout + cout;
    const expected =
      conv(3, 64) +
      conv(64, 192) +
      conv(192, 384) +
      conv(384, 256) +
      conv(256, 256) +
      1025 * 4096 +
      4097 * 4096 +
      4097 * 10;
    assert.equal(countParams(model), expected);
    assert.equal(expected, 23_272_266);
    assert.equal(estimateWeights('alexnet', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 }), expected);
    assert.deepEqual(outputShape(model, [32, 32, 3], 1), [1, 10]);
    // The flatten before the classifier is 256 x 2 x 2 = 1024.
    assert.deepEqual(model.getLayer('flatten').outputShape, [null, 1024]);
    model.dispose();
  });

  it('resnet18: 11,173,962 parameters (PyTorch count), running statistics on top', () => {
    const model = createModel('resnet18', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 });
    assert.equal(countParams(model), 11_173_962);
    assert.equal(
      estimateWeights('resnet18', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 }),
      allWeights(model),
    );
    assert.deepEqual(outputShape(model, [32, 32, 3], 1), [1, 10]);
    model.dispose();
  });

  it('listModels names every model with a description', () => {
    const names = listModels().map((m) => m.name);
    for (const name of ['alexnet', 'cifar-cnn', 'cnn', 'mnist-cnn', 'resnet18', 'toy-ntk', 'twolayer'])
      assert.ok(names.includes(name), name);
    assert.equal(new Set(names).size, names.length);
    for (const m of listModels()) assert.ok(m.description.length > 10);
  });
});

describe('PyTorch default initialisation', () => {
  it('conv and dense weights and biases are U(-1/sqrt(fan_in), 1/sqrt(fan_in)), filling the range', () => {
    const model = createModel('mnist-cnn', { width: 200, inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
    const fanIns: Record<string, number> = { conv1: 25, conv2: 250, fc1: 320, fc2: 200 };
    for (const [name, fanIn] of Object.entries(fanIns)) {
      const [kernel, bias] = model.getLayer(name).getWeights();
      const bound = 1 / Math.sqrt(fanIn);
      assert.ok(Math.abs(torchUniformBound(kernel!.shape) - bound) < 1e-12, name);
      for (const t of [kernel!, bias!]) {
        const v = t.dataSync();
        let max = 0;
        let sum = 0;
        for (const x of v) {
          max = Math.max(max, Math.abs(x));
          sum += x;
        }
        assert.ok(max <= bound, `${name}: |w| ${max} > ${bound}`);
        if (v.length >= 200) {
          assert.ok(max > 0.95 * bound, `${name}: values do not fill the range (${max} vs ${bound})`);
          assert.ok(Math.abs(sum / v.length) < 0.1 * bound, `${name}: mean ${sum / v.length} not near 0`);
        }
      }
    }
    model.dispose();
  });

  it('the same seed gives the same weights, another seed different ones', () => {
    const opts = { width: 30, inputShape: [28, 28, 1], numClasses: 10 };
    const a = createModel('mnist-cnn', { ...opts, seed: 5 });
    const b = createModel('mnist-cnn', { ...opts, seed: 5 });
    const c = createModel('mnist-cnn', { ...opts, seed: 6 });
    const wa = a.getWeights().map((t) => Array.from(t.dataSync()));
    assert.deepEqual(
      b.getWeights().map((t) => Array.from(t.dataSync())),
      wa,
    );
    assert.notDeepEqual(
      c.getWeights().map((t) => Array.from(t.dataSync())),
      wa,
    );
    for (const m of [a, b, c]) m.dispose();
  });

  it('resnet18 convolutions follow the same bound; batch norm starts at gamma 1, beta 0', () => {
    const model = createModel('resnet18', { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
    const kernel = model.getLayer('layer2_0_conv1').getWeights()[0]!;
    const bound = 1 / Math.sqrt(3 * 3 * 64);
    const v = kernel.dataSync();
    assert.ok(v.every((x) => Math.abs(x) <= bound));
    const [gamma, beta] = model.getLayer('bn1').getWeights();
    assert.ok(gamma!.dataSync().every((x) => x === 1));
    assert.ok(beta!.dataSync().every((x) => x === 0));
    model.dispose();
  });
});

describe('twolayer: the theory network', () => {
  it('has a fixed +-1 top layer that is not trainable, and W ~ randn / sqrt(d)', () => {
    const d = 50;
    const m = 400;
    const model = createModel('twolayer', { width: m, inputShape: [d], numClasses: 2, seed: 11 });
    assert.deepEqual(
      model.trainableWeights.map((w) => w.originalName),
      ['hidden/kernel'],
    );
    assert.equal(model.getLayer('output').trainable, false);
    const a = model.getLayer('output').getWeights()[0]!.dataSync();
    assert.ok(a.every((v) => v === 1 || v === -1));
    const plus = a.filter((v) => v === 1).length;
    assert.ok(plus > 150 && plus < 250, `a has ${plus} of ${m} entries +1`);
    const w = model.getLayer('hidden').getWeights()[0]!.dataSync();
    const variance = Array.from(w).reduce((s, x) => s + x * x, 0) / w.length;
    assert.ok(Math.abs(variance * d - 1) < 0.05, `Var(W) * d = ${variance * d}, expected ~1`);
    model.dispose();
  });

  it('outputs (1/sqrt(m)) sum_s a_s relu(w_s . x), computed by hand', () => {
    const d = 3;
    const m = 17;
    const model = createModel('twolayer', { width: m, inputShape: [d], numClasses: 2, seed: 2 });
    const W = model.getLayer('hidden').getWeights()[0]!.dataSync(); // [d, m]
    const a = model.getLayer('output').getWeights()[0]!.dataSync();
    const xs = [
      [0.3, -1.2, 0.5],
      [-0.7, 0.1, 2.0],
      [1, 1, 1],
    ];
    const out = tf.tidy(() => (model.predict(tf.tensor2d(xs)) as tf.Tensor).dataSync());
    xs.forEach((x, i) => {
      let f = 0;
      for (let s = 0; s < m; s++) {
        let h = 0;
        for (let j = 0; j < d; j++) h += W[j * m + s]! * x[j]!;
        f += a[s]! * Math.max(0, h);
      }
      f /= Math.sqrt(m);
      assert.ok(Math.abs(out[i]! - f) < 1e-5, `f(x${i}) = ${out[i]}, by hand ${f}`);
    });
    model.dispose();
  });
});

describe('twolayer: the head runs as a plain matMul and multiply', () => {
  it("gives the layers' values and W-gradient, and no product for the frozen a's gradient", async () => {
    const [d, m, n] = [6, 33, 5];
    const model = createModel('twolayer', { width: m, inputShape: [d], numClasses: 2, seed: 4 });
    const W = model.getLayer('hidden').getWeights()[0]!;
    const a = model.getLayer('output').getWeights()[0]!;
    const x = tf.randomNormal([n, d], 0, 1, 'float32', 1);
    const r = tf.randomNormal([n, 1], 0, 1, 'float32', 2);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const loss = () => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, r)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, vars);
    // the same function written with tfjs's ops, W as an ordinary input
    const byOps = (w: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.mul(tf.matMul(tf.relu(tf.matMul(x, w as tf.Tensor2D)), a as tf.Tensor2D), 1 / Math.sqrt(m)),
          r,
        ),
      );
    const [gW] = tf.grads(byOps)([W]);
    assert.ok(Math.abs(value.dataSync()[0]! - byOps(W).dataSync()[0]!) < 1e-5);
    const got = grads[vars[0]!.name]!.dataSync();
    const want = gW!.dataSync();
    assert.ok(got.every((g, i) => Math.abs(g - want[i]!) < 1e-5));
    const profile = await tf.profile(() => tf.dispose(tf.variableGrads(loss, vars).grads));
    const products = profile.kernels.filter((k) =>
      ['BatchMatMul', '_FusedMatMul', 'PoisonlabDenseBias'].includes(k.name),
    );
    // forward x W (with relu, one kernel on wasm) and h a; backward dy a^T and x^T dh (no h^T dy for a)
    assert.equal(products.length, 4, products.map((k) => JSON.stringify(k.inputShapes)).join(' '));
    tf.dispose([x, r, value, gW!, ...Object.values(grads)]);
    model.dispose();
  });
});

describe('createModel refuses bad requests with one-line errors', () => {
  const expectError = (fn: () => unknown, pattern: RegExp) => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof PoisonlabError, String(e));
      assert.match(e.message, pattern);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  };

  it('width must be a positive integer', () => {
    for (const width of [0, -3, 2.5]) {
      expectError(
        () => createModel('mnist-cnn', { width, inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
        /width must be a positive integer/,
      );
    }
  });

  it('wrong input shapes and unknown names', () => {
    expectError(
      () => createModel('mnist-cnn', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 }),
      /\[H, W, 1\]/,
    );
    expectError(
      () => createModel('cifar-cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
      /\[H, W, 3\]/,
    );
    expectError(
      () => createModel('mnist-cnn', { inputShape: [8, 8, 1], numClasses: 10, seed: 0 }),
      /too small/,
    );
    expectError(() => createModel('cnn', { inputShape: [784], numClasses: 10, seed: 0 }), /model cnn/);
    expectError(() => createModel('twolayer', { inputShape: [2], numClasses: 10, seed: 0 }), /binary/);
    expectError(
      () => createModel('vgg', { inputShape: [32, 32, 3], numClasses: 10, seed: 0 }),
      /unknown, expected one of/,
    );
  });

  it('a model too large for the 4 GiB wasm heap is refused before anything is allocated', () => {
    const before = tf.memory().numTensors;
    expectError(
      () => createModel('twolayer', { width: 2_000_000, inputShape: [28, 28, 1], numClasses: 2, seed: 0 }),
      /GiB.*wasm heap/,
    );
    expectError(
      () => createModel('mnist-cnn', { width: 5_000_000, inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
      /parameters need about/,
    );
    assert.equal(tf.memory().numTensors, before);
  });
});
