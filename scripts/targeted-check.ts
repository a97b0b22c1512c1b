/**
 * The literature check of the targeted poisons (docs/attacks.md): train a surrogate on a clean MNIST slice; then
 * for each of `--targets` seeds, poison the slice with ATTACK (the seed chooses the adversarial class, the target
 * test image and the poisons), train a fresh network from scratch on the poisoned slice and on the clean slice (same
 * seed and protocol), and count the targets classified as the adversarial class. Prints one JSON line per target
 * and a summary (success rate with its standard error over targets; the clean baseline's rate).
 *
 *   node --import tsx scripts/targeted-check.ts ATTACK '{"eps":0.1}' [--targets 8] [--limit 2000] [--test 1000]
 *     [--width 100] [--epochs 10] [--lr 0.1] [--batch 32] [--surrogate-epochs 5] [--surrogate-width 100]
 *     [--fine-tune]  (the victim starts from the surrogate's weights instead of from scratch: the easier setting)
 */

import * as tf from '@tensorflow/tfjs';
import { createAttack } from '../src/attacks/index.js';
import { initBackend } from '../src/backend/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/index.js';
import { createModel } from '../src/models/index.js';
import { fit } from '../src/train/index.js';
import { trainSurrogate } from '../src/train/surrogate.js';
import { checkArgs } from './check-args.js';

const { args, attackName, attackParams, opt } = checkArgs();
const targets = opt('--targets', 8);
const limit = opt('--limit', 2000);
const testLimit = opt('--test', 1000);
const width = opt('--width', 100);
const epochs = opt('--epochs', 10);
const lr = opt('--lr', 0.1);
const batchSize = opt('--batch', 32);
const surrogateEpochs = opt('--surrogate-epochs', 5);
const surrogateWidth = opt('--surrogate-width', 100);
const fineTune = args.includes('--fine-tune');

await initBackend({ quiet: true });
const data = await loadDataset('mnist', { limit, testLimit });

/**
 * Train on `train` (seed `seed`; from scratch, or from the surrogate's weights with --fine-tune) and return the
 * predicted class of the first image of `probe` and its softmax probability of class `intended`.
 */
async function trainAndPredict(
  train: Dataset,
  probe: Dataset,
  seed: number,
  intended: number,
): Promise<{ predicted: number; probability: number }> {
  const model = createModel('mnist-cnn', {
    width: fineTune ? surrogateWidth : width,
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed,
  });
  if (fineTune) model.setWeights(surrogate.getWeights());
  await fit(model, train, { lr, batchSize, maxEpochs: epochs }, { seed });
  const n = probe.y.length;
  const p = tf.tidy(() =>
    tf.softmax(model.predict(tf.tensor(probe.x, [n, ...probe.sampleShape])) as tf.Tensor),
  );
  const row = Array.from((p.dataSync() as Float32Array).subarray(0, 10));
  p.dispose();
  model.dispose();
  return { predicted: row.indexOf(Math.max(...row)), probability: row[intended]! };
}

const s0 = performance.now();
const surrogate = (
  await trainSurrogate(data, {
    dataset: 'mnist',
    width: surrogateWidth,
    epochs: surrogateEpochs,
    lr: 0.1,
    batchSize: 32,
    seed: 0,
  })
).model;
const surrogateSeconds = (performance.now() - s0) / 1000;
let hits = 0;
let cleanHits = 0;
let attackSeconds = 0;
let logRatio = 0;
for (let t = 0; t < targets; t++) {
  const attack = createAttack(attackName, { ...attackParams, seed: t });
  const chosen = attack.targets!(data.test);
  const a0 = performance.now();
  const outcome = await attack.poison(data.train, { surrogate, test: data.test });
  const seconds = (performance.now() - a0) / 1000;
  attackSeconds += seconds;
  const intended = chosen.intended[0]!;
  const p = await trainAndPredict(outcome.dataset, chosen.images, t, intended);
  const c = await trainAndPredict(data.train, chosen.images, t, intended);
  const poisoned = p.predicted;
  const clean = c.predicted;
  logRatio += Math.log(Math.max(p.probability, 1e-30) / Math.max(c.probability, 1e-30));
  if (poisoned === intended) hits++;
  if (clean === intended) cleanHits++;
  console.log(
    JSON.stringify({
      target: t,
      trueClass: chosen.images.y[0],
      adversarialClass: intended,
      cleanPrediction: clean,
      poisonedPrediction: poisoned,
      cleanAdversarialProbability: Number(c.probability.toPrecision(3)),
      poisonedAdversarialProbability: Number(p.probability.toPrecision(3)),
      success: poisoned === intended,
      report: outcome.report.params,
      deltaLinfMax: outcome.report.deltaLinfMax,
      samplesChanged: outcome.report.samplesChanged,
      attackSeconds: Number(seconds.toFixed(1)),
    }),
  );
}
const rate = hits / targets;
console.log(
  JSON.stringify({
    attack: attackName,
    params: attackParams,
    targets,
    successRate: rate,
    standardError: Math.sqrt((rate * (1 - rate)) / targets),
    cleanBaselineRate: cleanHits / targets,
    // geometric mean over targets of p_poisoned(adversarial class) / p_clean(adversarial class): > 1 moves towards it
    adversarialProbabilityRatio: Number(Math.exp(logRatio / targets).toPrecision(3)),
    limit,
    testLimit,
    width: fineTune ? surrogateWidth : width,
    epochs,
    fineTune,
    surrogateSeconds: Number(surrogateSeconds.toFixed(1)),
    meanAttackSeconds: Number((attackSeconds / targets).toFixed(1)),
  }),
);
