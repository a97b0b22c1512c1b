import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { attackDefaults } from '../../src/attacks/index.js';
import { defaultBudgets } from '../../src/cli/commands/theory.js';
import type { Dataset } from '../../src/data/dataset.js';
import {
  DATASET_DEFAULTS,
  datasetDefaults,
  datasetFamily,
  findDatasetFamily,
} from '../../src/data/defaults.js';
import { writePoisonFile } from '../../src/data/poison-file.js';
import { surrogateDefaults } from '../../src/train/surrogate.js';
import { PoisonlabError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'poisonlab-defaults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('every dataset poisonlab knows has its own row, found by name', () => {
  for (const name of ['mnist', 'fashion-mnist', 'cifar10', 'toy']) assert.equal(datasetFamily(name), name);
  assert.equal(datasetFamily('CIFAR10'), 'cifar10');
  // Fashion-MNIST says it takes MNIST's settings (the original has none of its own)
  assert.equal(DATASET_DEFAULTS['fashion-mnist'], DATASET_DEFAULTS.mnist);
});

test('a folder or file whose name says a dataset gets its row', () => {
  assert.equal(datasetFamily('../shared/data/CIFAR10-jpeg'), 'cifar10');
  assert.equal(datasetFamily('poisons/cifar-A-r0.npz'), 'cifar10');
  assert.equal(datasetFamily('data/fashion-mnist-idx'), 'fashion-mnist');
  assert.equal(datasetFamily('/data/mnist/'), 'mnist');
});

test('a poison file gets the row of the clean source it records, whatever its name', () => {
  const path = join(dir, 'p.npz');
  const poisoned: Dataset = {
    name: 'p',
    x: new Float32Array(2 * 3 * 3 * 3),
    y: Int32Array.from([0, 1]),
    sampleShape: [3, 3, 3],
    classNames: ['a', 'b'],
  };
  writePoisonFile(
    path,
    poisoned,
    { deltaNorm: new Float32Array(2), poisonMask: new Uint8Array(2) },
    { attack: 'label-flip', regime: 'C', params: {}, seed: 0, dataset: 'cifar10', limit: null, report: {} },
  );
  assert.equal(datasetFamily(path), 'cifar10');
});

test('any other dataset has no defaults: a one-line error saying what to give instead, never MNIST by silence', () => {
  assert.equal(findDatasetFamily('data/my-toy-images'), undefined);
  assert.throws(
    () => attackDefaults('data/my-images', '--budget and --step'),
    (e: unknown) =>
      e instanceof PoisonlabError &&
      /^dataset 'data\/my-images': no defaults .*expected --budget and --step$/.test(e.message) &&
      !e.message.includes('\n'),
  );
  assert.throws(() => surrogateDefaults('svhn'), PoisonlabError);
});

test("the attack, surrogate and theory commands read the original's settings from the one table", () => {
  assert.deepEqual(attackDefaults('mnist'), { C: 500, B: 1, step: 0.1, epochs: 500, batchSize: 128 });
  assert.deepEqual(attackDefaults('cifar10'), { C: 1000, B: 1, step: 0.5, epochs: 500, batchSize: 128 });
  assert.deepEqual(attackDefaults('toy'), attackDefaults('mnist'));
  assert.deepEqual(surrogateDefaults('mnist'), { model: 'cnn', width: 100, lr: 0.1 });
  assert.deepEqual(surrogateDefaults('cifar10'), { model: 'alexnet', lr: 0.01 });
  assert.deepEqual(defaultBudgets('mnist'), { budgetA: 500, budgetB: 1, beta: 0.1 });
  assert.deepEqual(defaultBudgets('CIFAR10'), { budgetA: 1000, budgetB: 1, beta: 0.1 });
  assert.deepEqual(defaultBudgets('toy'), { budgetB: 0.975, beta: 0.4 });
  for (const spec of ['mnist', 'cifar10', 'toy'])
    assert.equal(attackDefaults(spec), datasetDefaults(spec).attack, 'the same object: one table');
});
