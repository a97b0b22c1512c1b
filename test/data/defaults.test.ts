import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attackDefaults } from '../../src/attacks/index.js';
import { surrogateDefaults } from '../../src/attacks/surrogate.js';
import { defaultBudgets } from '../../src/cli/commands/theory.js';
import { datasetDefaults, datasetFamily } from '../../src/data/defaults.js';

test('a dataset spec picks its row of the defaults table by name', () => {
  assert.equal(datasetFamily('mnist'), 'mnist');
  assert.equal(datasetFamily('fashion-mnist'), 'mnist');
  assert.equal(datasetFamily('cifar10'), 'cifar10');
  assert.equal(datasetFamily('../shared/data/CIFAR10-jpeg'), 'cifar10');
  assert.equal(datasetFamily('poisons/cifar-A-r0.npz'), 'cifar10');
  assert.equal(datasetFamily('toy'), 'toy');
  assert.equal(datasetFamily('data/my-toy-images'), 'mnist');
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
