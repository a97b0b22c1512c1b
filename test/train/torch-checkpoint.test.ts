import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/index.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { float32Tensor, type RawTensor, toFloat32 } from '../../src/io/tensor.js';
import { createModel, modelInfo } from '../../src/models/index.js';
import { guessTorchModel } from '../../src/models/torch-names.js';
import { evaluate, predictLogits, saveCheckpoint } from '../../src/train/index.js';
import { loadSurrogate, saveSurrogate } from '../../src/train/surrogate.js';
import {
  loadModelFile,
  loadTorchModel,
  modelFromStateDict,
  readTorchWeights,
  saveTorchSafetensors,
  torchStateDict,
  weightsFormat,
} from '../../src/train/torch-checkpoint.js';
import { PoisonlabError } from '../../src/util/errors.js';
import { pthOf } from '../io/torch-writer.js';
import { mnistSlice, SEED_PTH } from './helpers.js';

/** Whether two models hold bit-identical weights (fast for AlexNet's 23M values). */
function sameWeights(a: tf.LayersModel, b: tf.LayersModel): boolean {
  const wa = a.getWeights();
  const wb = b.getWeights();
  const bytes = (t: tf.Tensor) => {
    const d = t.dataSync() as Float32Array;
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  };
  return (
    wa.length === wb.length &&
    wa.every((t, i) => t.shape.join() === wb[i]!.shape.join() && bytes(t).equals(bytes(wb[i]!)))
  );
}

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-torch-'));
before(async () => {
  await initBackend({ quiet: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function expectError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PoisonlabError, String(e));
    assert.match(e.message, pattern);
    assert.match(e.message, /expected/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

/** Random probe inputs of a shape (seeded). */
function probe(shape: readonly number[], n = 3): Dataset {
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.randomUniform([n * size], 0, 1, 'float32', 7).dataSync() as Float32Array;
  return { name: 'probe', x, y: new Int32Array(n), sampleShape: [...shape], classNames: ['0', '1'] };
}

describe("the paper's MNIST surrogate (ntkconv100_baseline.pth)", () => {
  test('loads as mnist-cnn width 100 and scores 0.9888 on the official MNIST test set', async (t) => {
    if (!existsSync(SEED_PTH)) {
      t.skip(`${SEED_PTH} not present`);
      return;
    }
    const loaded = loadTorchModel(SEED_PTH);
    assert.equal(loaded.name, 'mnist-cnn');
    assert.equal(loaded.width, 100);
    assert.equal(loaded.format, 'pth');
    assert.equal(modelInfo(loaded.model)!.options.numClasses, 10);
    const mnist = await loadDataset('mnist');
    assert.equal(mnist.test.y.length, 10_000);
    const { accuracy } = evaluate(loaded.model, mnist.test);
    assert.equal(accuracy, 0.9888);

    // As a surrogate: metadata filled from the model and the data it is used with.
    const s = loadSurrogate(SEED_PTH, mnist.train);
    assert.deepEqual(
      [s.meta.model, s.meta.width, s.meta.inputShape, s.meta.classNames.length, s.meta.source],
      ['mnist-cnn', 100, [28, 28, 1], 10, { path: SEED_PTH, format: 'pth' }],
    );
    assert.equal(s.meta.testAccuracy, null);
    const probeSet = mnistSlice(0, 64).test;
    assert.deepEqual(predictLogits(s.model, probeSet), predictLogits(loaded.model, probeSet));
    s.model.dispose();
    loaded.model.dispose();
  });

  test('the layout mapping is the PyTorch-to-tfjs recipe: OIHW -> HWIO, fc1 [m, 20*4*4] -> [4*4*20, m]', (t) => {
    if (!existsSync(SEED_PTH)) {
      t.skip(`${SEED_PTH} not present`);
      return;
    }
    const { tensors } = readTorchWeights(SEED_PTH);
    const { model } = loadTorchModel(SEED_PTH);
    const w = new Map(model.weights.map((v) => [v.originalName, v.read().dataSync() as Float32Array]));
    // conv1.weight [10, 1, 5, 5]: tfjs kernel[y][x][i][o] = torch[o][i][y][x]
    const conv = toFloat32(tensors.get('conv2.weight')!);
    const kernel = w.get('conv2/kernel')!;
    for (const [o, i, y, x] of [
      [0, 0, 0, 0],
      [19, 9, 4, 4],
      [3, 7, 1, 2],
    ] as const)
      assert.equal(kernel[((y * 5 + x) * 10 + i) * 20 + o], conv[((o * 10 + i) * 5 + y) * 5 + x]);
    // fc1.weight [100, 320], columns in PyTorch's (c, h, w) flatten order; rows of the tfjs kernel in (h, w, c)
    const fc1 = toFloat32(tensors.get('fc1.weight')!);
    const k1 = w.get('fc1/kernel')!;
    for (const [o, c, h, x] of [
      [0, 0, 0, 0],
      [99, 19, 3, 3],
      [42, 5, 2, 1],
    ] as const)
      assert.equal(k1[((h * 4 + x) * 20 + c) * 100 + o], fc1[o * 320 + (c * 4 + h) * 4 + x]);
    // fc2.weight [10, 100] -> [100, 10]
    const fc2 = toFloat32(tensors.get('fc2.weight')!);
    assert.equal(w.get('fc2/kernel')![37 * 10 + 4], fc2[4 * 100 + 37]);
    model.dispose();
  });
});

/**
 * The models with a PyTorch mapping, as small as they come, and how their .pth copy spells its keys
 * (other accepted spellings: DataParallel's 'module.', cifar-cnn's conv1..fc3, the CIFAR ResNet's
 * shortcut / linear). AlexNet goes through .safetensors only (its 23M weights are slow to move twice).
 */
const MODELS: [
  string,
  { width?: number; inputShape: number[]; numClasses: number },
  ((k: string) => string) | null,
][] = [
  ['mnist-cnn', { width: 7, inputShape: [28, 28, 1], numClasses: 10 }, (k) => k],
  [
    'cifar-cnn',
    { width: 9, inputShape: [32, 32, 3], numClasses: 10 },
    (k) => `module.${k.replace(/^(conv|fc)_/, '$1')}`,
  ],
  ['alexnet', { inputShape: [32, 32, 3], numClasses: 10 }, null],
  [
    'resnet18',
    { inputShape: [32, 32, 3], numClasses: 10 },
    (k) => k.replace('.downsample.', '.shortcut.').replace(/^fc\./, 'linear.'),
  ],
  ['twolayer', { width: 13, inputShape: [32, 32, 3], numClasses: 2 }, (k) => k],
  ['twolayer', { width: 5, inputShape: [2], numClasses: 2 }, (k) => k],
];

/** The keys of the original's PyTorch modules (mnist_ntk.py, cifar_ntk.py, alexnet.py, resnet.py). */
function checkKeys(name: string, sd: [string, RawTensor][]): void {
  const keys = sd.map(([k]) => k);
  const shapes = new Map(sd.map(([k, t]) => [k, t.shape]));
  const pairs = (mods: string[]) => mods.flatMap((m) => [`${m}.weight`, `${m}.bias`]);
  if (name === 'mnist-cnn') assert.deepEqual(keys, pairs(['conv1', 'conv2', 'fc1', 'fc2']));
  if (name === 'cifar-cnn') assert.deepEqual(keys, pairs(['conv_1', 'conv_2', 'fc_1', 'fc_2', 'fc_3']));
  if (name === 'alexnet') {
    const features = [0, 3, 6, 8, 10].map((i) => `features.${i}`);
    assert.deepEqual(keys, pairs([...features, ...[1, 4, 6].map((i) => `classifier.${i}`)]));
    assert.deepEqual(shapes.get('features.0.weight'), [64, 3, 3, 3]);
    assert.deepEqual(shapes.get('classifier.1.weight'), [4096, 1024]);
  }
  if (name === 'resnet18') {
    assert.equal(keys.length, 122);
    for (const k of [
      'conv1.weight',
      'bn1.running_mean',
      'layer2.0.downsample.0.weight',
      'layer4.1.bn2.running_var',
      'fc.bias',
    ])
      assert.ok(keys.includes(k), k);
    assert.deepEqual(new Map(sd).get('bn1.num_batches_tracked'), {
      dtype: 'I64',
      shape: [],
      bytes: new Uint8Array(8),
    });
  }
  if (name === 'twolayer') {
    assert.deepEqual(keys, ['fc1.weight', 'fc2.weight']);
    assert.equal(shapes.get('fc2.weight')![0], 1);
  }
}

describe('round trip: poisonlab model -> PyTorch state_dict -> poisonlab model', () => {
  for (const [name, opts, rename] of MODELS) {
    test(`${name} [${opts.inputShape}]: same weights and same predictions${rename ? ', through .safetensors and .pth' : ''}`, () => {
      const model = createModel(name, { ...opts, seed: 3 });
      // batch-norm statistics that matter
      for (const v of model.weights)
        if (/moving_|gamma|beta/.test(v.originalName))
          v.write(tf.randomUniform(v.shape as number[], 0.5, 1.5, 'float32', 1));
      const x = probe(opts.inputShape);
      const before = predictLogits(model, x);
      const sd = torchStateDict(model);
      checkKeys(name, sd);
      const paths = [join(dir, `${name}.safetensors`)];
      saveTorchSafetensors(paths[0]!, model, { note: 'kept' });
      if (rename) {
        paths.push(join(dir, `${name}.pth`));
        writeFileSync(paths[1]!, pthOf(sd.map(([k, t]) => [rename(k), t])));
      }
      for (const path of paths) {
        // the safetensors file says which model it holds; the .pth only its shapes (twolayer: plus the input shape)
        const hints = path.endsWith('.pth') && name === 'twolayer' ? { inputShape: opts.inputShape } : {};
        const back = loadTorchModel(path, hints);
        assert.equal(back.name, name);
        assert.equal(back.width, opts.width);
        assert.ok(sameWeights(back.model, model), path);
        assert.deepEqual(predictLogits(back.model, x), before, path);
        if (path.endsWith('.safetensors')) assert.deepEqual(back.meta, { note: 'kept' });
        back.model.dispose();
      }
      model.dispose();
    });
  }
});

describe('which model a state_dict holds', () => {
  const shapes = (entries: [string, number[]][]) => new Map(entries);
  test('is recognised from its keys and shapes', () => {
    assert.deepEqual(
      guessTorchModel(
        shapes([
          ['conv1.weight', [10, 1, 5, 5]],
          ['conv2.weight', [20, 10, 5, 5]],
          ['fc1.weight', [100, 320]],
          ['fc2.weight', [10, 100]],
        ]),
      ),
      { model: 'mnist-cnn', width: 100, numClasses: 10 },
    );
    assert.deepEqual(
      guessTorchModel(
        shapes([
          ['conv_1.weight', [6, 3, 5, 5]],
          ['fc_2.weight', [200, 120]],
          ['fc_3.weight', [10, 200]],
        ]),
      ),
      { model: 'cifar-cnn', width: 200, numClasses: 10 },
    );
    assert.deepEqual(
      guessTorchModel(
        shapes([
          ['features.0.weight', [64, 3, 3, 3]],
          ['classifier.6.weight', [10, 4096]],
        ]),
      ),
      {
        model: 'alexnet',
        numClasses: 10,
      },
    );
    assert.deepEqual(
      guessTorchModel(
        shapes([
          ['layer1.0.conv1.weight', [64, 64, 3, 3]],
          ['linear.weight', [100, 512]],
        ]),
      ),
      {
        model: 'resnet18',
        numClasses: 100,
      },
    );
    assert.deepEqual(
      guessTorchModel(
        shapes([
          ['fc1.weight', [50, 784]],
          ['fc2.weight', [1, 50]],
        ]),
      ),
      { model: 'twolayer', width: 50, numClasses: 2, inputShape: [784] },
    );
    assert.equal(guessTorchModel(shapes([['w', [1]]])), undefined);
  });
});

describe('PyTorch weights are refused, in one line naming the file and what was expected', () => {
  const mnist = () =>
    createModel('mnist-cnn', { width: 6, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  const sdOf = (m: tf.LayersModel) => new Map(torchStateDict(m));

  test('a file type that is not a weights file', () =>
    expectError(() => weightsFormat('w.h5'), /w\.h5: unknown weights file type '\.h5' \(expected \.npz/));

  test('a weights file saved without a suffix is recognised by its content (zip, pickle, safetensors header)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poisonlab-sniff-'));
    try {
      const m = createModel('mnist-cnn', { width: 3, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
      saveCheckpoint(join(dir, 'ckpt.npz'), m, { model: 'mnist-cnn', width: 3 });
      saveTorchSafetensors(join(dir, 'w.safetensors'), m, { model: 'mnist-cnn', width: 3 });
      m.dispose();
      const copy = (from: string, to: string) => writeFileSync(join(dir, to), readFileSync(from));
      copy(join(dir, 'ckpt.npz'), 'ckpt');
      copy(join(dir, 'w.safetensors'), 'st');
      copy(SEED_PTH, 'torch');
      writeFileSync(join(dir, 'text'), 'not weights');
      assert.equal(weightsFormat(join(dir, 'ckpt')), 'npz');
      assert.equal(weightsFormat(join(dir, 'st')), 'safetensors');
      assert.equal(weightsFormat(join(dir, 'torch')), 'pth');
      expectError(
        () => weightsFormat(join(dir, 'text')),
        /text: unknown weights file type '' \(expected .* by suffix or by content\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a poisonlab checkpoint read as a state_dict', () =>
    expectError(() => readTorchWeights('w.npz'), /w\.npz: a poisonlab checkpoint, not a PyTorch state_dict/));

  test('a state_dict of no known model, without --model', () =>
    expectError(
      () => modelFromStateDict(new Map([['w', float32Tensor(Float32Array.of(1), [1])]]), {}, 'x.pth'),
      /x\.pth: cannot tell which model this state_dict holds \(keys 'w'\); expected --model <one of mnist-cnn,/,
    ));

  test('a model without a PyTorch mapping', () =>
    expectError(
      () => modelFromStateDict(new Map(), { model: 'lenet' }, 'x.pth'),
      /model 'lenet' has no PyTorch mapping/,
    ));

  test('a model that cannot be built (cifar-cnn on 28x28x1 images)', () => {
    const m = mnist();
    expectError(
      () => modelFromStateDict(sdOf(m), { model: 'cifar-cnn', inputShape: [28, 28, 1] }, 'x.pth'),
      /x\.pth: model cifar-cnn: expected an image input shape \[H, W, 3\]/,
    );
    m.dispose();
  });

  test('the keys of another model', () => {
    const m = mnist();
    expectError(
      () => modelFromStateDict(sdOf(m), { model: 'cifar-cnn', width: 6 }, 'x.pth'),
      // (conv1, fc1, fc2 are read as cifar-cnn's conv_1, fc_1, fc_2)
      /x\.pth: not a state_dict of cifar-cnn width 6 \(input \[32,32,3\], 10 classes\): missing 'fc_3\.weight', 'fc_3\.bias'; its keys look like mnist-cnn \(expected exactly the keys 'conv_1\.weight'/,
    );
    m.dispose();
  });

  test('a missing key', () => {
    const m = mnist();
    const sd = sdOf(m);
    sd.delete('fc2.bias');
    expectError(() => modelFromStateDict(sd, {}, 'x.pth'), /missing 'fc2\.bias'/);
    m.dispose();
  });

  test('two spellings of one key', () => {
    const m = createModel('cifar-cnn', { width: 4, inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
    const sd = sdOf(m);
    sd.set('conv1.weight', sd.get('conv_1.weight')!);
    expectError(
      () => modelFromStateDict(sd, {}, 'x.pth'),
      /keys 'conv1\.weight' and another both stand for 'conv_1\.weight'/,
    );
    m.dispose();
  });

  test('a width that contradicts the shapes', () => {
    const m = mnist();
    expectError(
      () => modelFromStateDict(sdOf(m), { width: 50 }, 'x.pth'),
      /'fc1\.weight' has shape \[6,320\], expected \[50,320\] for mnist-cnn width 50 .* \(the file's shapes say width 6\)/,
    );
    m.dispose();
  });

  test('a class count that contradicts the shapes (a binary task)', () => {
    const m = mnist();
    expectError(
      () => modelFromStateDict(sdOf(m), { numClasses: 2 }, 'x.pth'),
      /'fc2\.weight' has shape \[10,6\], expected \[2,6\]/,
    );
    m.dispose();
  });

  test('a weight that is not a float tensor', () => {
    const m = mnist();
    const sd = sdOf(m);
    sd.set('conv1.bias', { dtype: 'I32', shape: [10], bytes: new Uint8Array(40) });
    expectError(() => modelFromStateDict(sd, {}, 'x.pth'), /'conv1\.bias' is I32, expected a float tensor/);
    m.dispose();
  });

  test('a num_batches_tracked that is not an integer', () => {
    const m = createModel('resnet18', { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
    const sd = sdOf(m);
    sd.set('bn1.num_batches_tracked', float32Tensor(Float32Array.of(0), []));
    expectError(
      () => modelFromStateDict(sd, {}, 'x.pth'),
      /'bn1\.num_batches_tracked' is F32, expected an integer/,
    );
    m.dispose();
  });

  test('a twolayer of unknown input shape', () =>
    expectError(
      () => modelFromStateDict(new Map(), { model: 'twolayer', width: 3 }, 'x.pth'),
      /x\.pth: the input shape of twolayer is unknown \(expected --input-shape\)/,
    ));

  const metadataCases: [string, Record<string, string>, RegExp][] = [
    [
      'poisonlab.inputShape that is not JSON',
      { 'poisonlab.inputShape': '[1,' },
      /metadata 'poisonlab\.inputShape' is not valid JSON/,
    ],
    [
      'poisonlab.inputShape that is not a shape',
      { 'poisonlab.inputShape': '[0]' },
      /is \[0\], expected a list of positive integers/,
    ],
    [
      'poisonlab.width that is not a count',
      { 'poisonlab.width': 'wide' },
      /metadata 'poisonlab\.width' is 'wide', expected a positive integer/,
    ],
    [
      'poisonlab.numClasses that is not a count',
      { 'poisonlab.numClasses': '-1' },
      /metadata 'poisonlab\.numClasses' is '-1'/,
    ],
    [
      'poisonlab.meta that is not an object',
      { 'poisonlab.meta': '[1]' },
      /metadata 'poisonlab\.meta' is not a JSON object/,
    ],
  ];
  for (const [name, metadata, pattern] of metadataCases)
    test(`safetensors metadata: ${name}`, () => {
      const m = mnist();
      const path = join(dir, 'bad-meta.safetensors');
      writeSafetensors(path, torchStateDict(m), metadata);
      expectError(() => loadTorchModel(path), pattern);
      m.dispose();
    });

  test('a checkpoint (.npz) that contradicts what was asked for', () => {
    const m = mnist();
    const path = join(dir, 'm.npz');
    saveCheckpoint(path, m, {});
    expectError(
      () => loadModelFile(path, { model: 'cifar-cnn', width: 7, inputShape: [32, 32, 3], numClasses: 2 }),
      /m\.npz: it holds mnist-cnn, not cifar-cnn; its width is 6, not 7; its input shape is \[28,28,1\], not \[32,32,3\]; it has 10 classes, not 2 \(expected a checkpoint of the model asked for\)/,
    );
    const ok = loadModelFile(path, { model: 'cnn', width: 6, inputShape: [28, 28, 1], numClasses: 10 });
    assert.equal(ok.name, 'mnist-cnn');
    ok.model.dispose();
    m.dispose();
  });

  test('exporting a model that createModel did not build', () => {
    const plain = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    expectError(() => torchStateDict(plain), /not built by createModel \(expected a poisonlab model\)/);
    expectError(() => saveTorchSafetensors(join(dir, 'p.safetensors'), plain), /did not build/);
    plain.dispose();
  });
});

describe('PyTorch surrogates', () => {
  const data = () => mnistSlice(32, 0).train;
  const pth = () => {
    const m = createModel('mnist-cnn', { width: 12, inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    const path = join(dir, 'surrogate.pth');
    writeFileSync(path, pthOf(torchStateDict(m)));
    m.dispose();
    return path;
  };

  test('a .pth surrogate is filled from the data; --model/--width hints are checked', () => {
    const path = pth();
    const s = loadSurrogate(path, data(), { model: 'cnn', width: 12 });
    assert.equal(s.meta.dataset, data().name);
    assert.equal(s.meta.width, 12);
    s.model.dispose();
    expectError(
      () => loadSurrogate(path, data(), { width: 10 }),
      /'fc1\.weight' has shape \[12,320\], expected \[10,320\]/,
    );
  });

  test('on data of another shape or class count, a one-line error', () => {
    const path = pth();
    const colour: Dataset = {
      name: 'cifar-like',
      x: new Float32Array(32 * 32 * 3),
      y: new Int32Array(1),
      sampleShape: [32, 32, 3],
      classNames: [...'0123456789'],
    };
    expectError(
      () => loadSurrogate(path, colour),
      /surrogate\.pth: model mnist-cnn: expected an image input shape \[H, W, 1\], got \[32,32,3\]/,
    );
    const larger: Dataset = { ...colour, x: new Float32Array(32 * 32), sampleShape: [32, 32, 1] };
    expectError(() => loadSurrogate(path, larger), /'fc1\.weight' has shape \[12,320\], expected \[12,500\]/);
    const binary: Dataset = { ...data(), classNames: ['a', 'b'] };
    expectError(() => loadSurrogate(path, binary), /'fc2\.weight' has shape \[10,12\], expected \[2,12\]/);
  });

  test('an .npz converted from a state_dict is a surrogate; a plain training checkpoint is not', () => {
    const m = createModel('mnist-cnn', { width: 5, inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    const converted = join(dir, 'converted.npz');
    saveCheckpoint(converted, m, { imported: { from: 'x.pth', format: 'pth' } });
    const s = loadSurrogate(converted, data());
    assert.deepEqual(s.meta.source, { path: converted, format: 'npz' });
    s.model.dispose();
    const plain = join(dir, 'plain.npz');
    saveCheckpoint(plain, m, {});
    expectError(() => loadSurrogate(plain, data()), /plain\.npz: not a surrogate checkpoint/);
    m.dispose();
  });

  test('a poisonlab surrogate exported to .safetensors keeps its metadata', () => {
    const m = createModel('mnist-cnn', { width: 5, inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    const meta = {
      kind: 'poisonlab-surrogate' as const,
      dataset: 'mnist',
      model: 'mnist-cnn',
      width: 5,
      seed: 2,
      epochs: 1,
      lr: 0.1,
      batchSize: 128,
      trainSamples: 32,
      testAccuracy: 0.5,
      testLoss: 1,
      inputShape: [28, 28, 1],
      classNames: [...'0123456789'],
    };
    const npz = join(dir, 's.npz');
    saveSurrogate(npz, m, meta);
    const st = join(dir, 's.safetensors');
    saveTorchSafetensors(st, m, { surrogate: meta });
    const s = loadSurrogate(st, data());
    assert.deepEqual(s.meta, meta);
    s.model.dispose();
    m.dispose();
  });
});
