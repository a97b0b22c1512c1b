/**
 * The literature checks of docs/attacks.md: poison a slice of MNIST with one availability attack, train the
 * paper's CNN on the clean and on the poisoned slice with the same seed and protocol, and print both clean test
 * accuracies (and what the poison cost).
 *
 *   node --import tsx scripts/availability-check.ts ATTACK '{"eps":0.1}' [--limit 2000] [--test 1000]
 *     [--width 100] [--epochs 10] [--lr 0.1] [--batch 32] [--seed 0] [--surrogate-epochs 3] [--defence NAME '{}']
 */
import { createAttack, getAttackEntry } from '../src/attacks/index.js';
import { initBackend } from '../src/backend/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/index.js';
import { createDefence } from '../src/defences/index.js';
import { createModel } from '../src/models/index.js';
import { evaluate, fit } from '../src/train/index.js';
import { trainSurrogate } from '../src/train/surrogate.js';
import { checkArgs } from './check-args.js';

const { args, attackName, attackParams, opt } = checkArgs();
const limit = opt('--limit', 2000);
const testLimit = opt('--test', 1000);
const width = opt('--width', 100);
const epochs = opt('--epochs', 10);
const lr = opt('--lr', 0.1);
const batchSize = opt('--batch', 32);
const seed = opt('--seed', 0);
const surrogateEpochs = opt('--surrogate-epochs', 3);
const di = args.indexOf('--defence');

await initBackend({ quiet: true });
const data = await loadDataset('mnist', { limit, testLimit });

async function trainAndTest(train: Dataset): Promise<number> {
  const model = createModel('mnist-cnn', { width, inputShape: [28, 28, 1], numClasses: 10, seed });
  await fit(model, train, { lr, batchSize, maxEpochs: epochs }, { seed });
  const acc = evaluate(model, data.test).accuracy;
  model.dispose();
  return acc;
}

const t0 = performance.now();
const clean = await trainAndTest(data.train);
const tClean = (performance.now() - t0) / 1000;
const needs = getAttackEntry(attackName).needs.surrogate;
let surrogateSeconds = 0;
let surrogate: Awaited<ReturnType<typeof trainSurrogate>>['model'] | undefined;
if (needs) {
  const s0 = performance.now();
  surrogate = (
    await trainSurrogate(data, {
      dataset: 'mnist',
      width: 100,
      epochs: surrogateEpochs,
      lr: 0.1,
      batchSize: 32,
      seed,
    })
  ).model;
  surrogateSeconds = (performance.now() - s0) / 1000;
}
const a0 = performance.now();
const outcome = await createAttack(attackName, attackParams).poison(
  data.train,
  surrogate ? { surrogate } : {},
);
const attackSeconds = (performance.now() - a0) / 1000;
let train = outcome.dataset;
let defended = '';
if (di >= 0) {
  const d = createDefence(args[di + 1]!, JSON.parse(args[di + 2] ?? '{}'));
  train = (await d.apply({ data: train, poisonMask: outcome.poisonMask })).dataset;
  defended = `+${d.name}`;
}
const poisoned = await trainAndTest(train);
const r = outcome.report;
console.log(
  JSON.stringify({
    attack: `${attackName}${defended}`,
    params: r.params,
    limit,
    testLimit,
    width,
    epochs,
    lr,
    batchSize,
    seed,
    cleanTestAccuracy: clean,
    poisonedTestAccuracy: poisoned,
    deltaL2Max: r.deltaNormMax,
    deltaLinfMax: r.deltaLinfMax,
    surrogateBefore: r.surrogateBefore,
    surrogateAfter: r.surrogateAfter,
    attackSeconds: Number(attackSeconds.toFixed(1)),
    surrogateSeconds: Number(surrogateSeconds.toFixed(1)),
    cleanTrainSeconds: Number(tClean.toFixed(1)),
  }),
);
