// Uses poisonlab the way a user's project would: by its package name (needs `npm run build` first,
// which `npm test` does).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAttack, createModel, initBackend, loadDataset, PoisonlabError, train } from 'poisonlab';

test('the README example runs through the package entry point', async () => {
  await initBackend({ quiet: true });
  const { train: clean, test: testSet } = await loadDataset('mnist', { limit: 1000, testLimit: 500 });
  const model = createModel('cnn', { width: 50, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  const flip = createAttack({ regime: 'C', beta: 0.3, seed: 0 });
  const { dataset: poisoned, report } = await flip.poison(clean);
  assert.equal(report.regime, 'C');
  assert.ok(
    report.labelsFlipped > 200 && report.labelsFlipped < 400,
    `flipped ${report.labelsFlipped} of 1000`,
  );
  const result = await train(
    model,
    { train: poisoned, test: testSet },
    { epochs: 1, batchSize: 64, lr: 0.1, seed: 0 },
  );
  assert.equal(result.epochs, 1);
  assert.ok(result.final.testAccuracy! >= 0 && result.final.testAccuracy! <= 1);
  model.dispose();
});

test('errors thrown by the library are PoisonlabErrors with one-line messages', () => {
  assert.throws(
    () => createModel('cnn', { width: -3, inputShape: [28, 28, 1], numClasses: 10, seed: 0 }),
    (e: unknown) => e instanceof PoisonlabError && !e.message.includes('\n'),
  );
});
