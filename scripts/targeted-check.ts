/**
 * The literature check of the targeted poisons (docs/attacks.md): train a surrogate on a clean MNIST slice; then
 * for each of `--targets` seeds, poison the slice with ATTACK (the seed chooses the adversarial class, the target
 * test image and the poisons), train a fresh network from scratch on the poisoned slice and on the clean slice (same
 * seed and protocol), and count the targets classified as the adversarial class. Prints one JSON line per target
 * and a summary (success rate with its standard error over targets; the clean baseline's rate).
 *
 *   node --import tsx scripts/targeted-check.ts ATTACK '{"eps":0.1}' [--targets 8] [--limit 2000] [--test 1000]
 *     [--width 100] [--epochs 10] [--lr 0.1] [--batch 32] [--surrogate-epochs 5] [--surrogate-width 100]
 */

import * as tf from '@tensorflow/tfjs';
import { createAttack } from '../src/attacks/index.js';
import { initBackend } from '../src/backend/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/index.js';
import { createModel } from '../src/models/index.js';
import { fit } from '../src/train/index.js';
import { trainSurrogate } from '../src/train/surrogate.js';

const args = process.argv.slice(2);
const attackName = args[0]!;
const attackParams = JSON.parse(args[1] ?? '{}') as Record<string, unknown>;
const opt = (flag: string, fallback: number): number => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const targets = opt('--targets', 8);
const limit = opt('--limit', 2000);
const testLimit = opt('--test', 1000);
const width = opt('--width', 100);
const epochs = opt('--epochs', 10);
const lr = opt('--lr', 0.1);
const batchSize = opt('--batch', 32);
const surrogateEpochs = opt('--surrogate-epochs', 5);
const surrogateWidth = opt('--surrogate-width', 100);

await initBackend({ quiet: true });
const data = await loadDataset('mnist', { limit, testLimit });

/** Train from scratch on `train` (seed `seed`) and return the predicted class of every image of `probe`. */
async function trainAndPredict(train: Dataset, probe: Dataset, seed: number): Promise<Int32Array> {
  const model = createModel('mnist-cnn', { width, inputShape: [28, 28, 1], numClasses: 10, seed });
  await fit(model, train, { lr, batchSize, maxEpochs: epochs }, { seed });
  const n = probe.y.length;
  const pred = tf.tidy(() =>
    tf.argMax(model.predict(tf.tensor(probe.x, [n, ...probe.sampleShape])) as tf.Tensor, 1),
  );
  const out = Int32Array.from(pred.dataSync());
  pred.dispose();
  model.dispose();
  return out;
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
for (let t = 0; t < targets; t++) {
  const attack = createAttack(attackName, { ...attackParams, seed: t });
  const chosen = attack.targets!(data.test);
  const a0 = performance.now();
  const outcome = await attack.poison(data.train, { surrogate, test: data.test });
  const seconds = (performance.now() - a0) / 1000;
  attackSeconds += seconds;
  const poisoned = (await trainAndPredict(outcome.dataset, chosen.images, t))[0]!;
  const clean = (await trainAndPredict(data.train, chosen.images, t))[0]!;
  const intended = chosen.intended[0]!;
  if (poisoned === intended) hits++;
  if (clean === intended) cleanHits++;
  console.log(
    JSON.stringify({
      target: t,
      trueClass: chosen.images.y[0],
      adversarialClass: intended,
      cleanPrediction: clean,
      poisonedPrediction: poisoned,
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
    limit,
    testLimit,
    width,
    epochs,
    surrogateSeconds: Number(surrogateSeconds.toFixed(1)),
    meanAttackSeconds: Number((attackSeconds / targets).toFixed(1)),
  }),
);
