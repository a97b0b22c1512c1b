/**
 * The checks of the post-training defences (STRIP, Neural Cleanse) in docs/attacks.md: poison a slice of MNIST
 * with a backdoor, train the paper's CNN on it, and print the attack-success rate with the defence's metrics (STRIP:
 * detection rate on triggered test images not of the target, false-positive rate on clean test images; Neural
 * Cleanse: the anomaly index and the flagged class); the same for a network trained on the clean slice (no
 * backdoor to find).
 *
 *   node --import tsx scripts/inspect-check.ts [ATTACK '{"target":0,"rate":0.1}'] [--defence strip '{"overlays":20}']
 *     [--limit 2000] [--test 1000] [--width 100] [--epochs 10]
 */
import { createAttack } from '../src/attacks/index.js';
import { initBackend } from '../src/backend/index.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/index.js';
import { createDefence } from '../src/defences/index.js';
import { createModel } from '../src/models/index.js';
import { fit, namedMetrics } from '../src/train/index.js';

const args = process.argv.slice(2);
const attackName = args[0] && !args[0].startsWith('--') ? args[0] : 'badnets';
const attackParams = JSON.parse(
  args[1] && !args[1].startsWith('--') ? args[1] : '{"target":0,"rate":0.1}',
) as Record<string, unknown>;
const opt = (flag: string, fallback: number): number => {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const di = args.indexOf('--defence');
const defenceName = di >= 0 ? args[di + 1]! : 'strip';
const defenceParams = JSON.parse(di >= 0 && args[di + 2] ? args[di + 2]! : '{}') as Record<string, unknown>;
const limit = opt('--limit', 2000);
const testLimit = opt('--test', 1000);
const width = opt('--width', 100);
const epochs = opt('--epochs', 10);

await initBackend({ quiet: true });
const data = await loadDataset('mnist', { limit, testLimit });
const attack = createAttack(attackName, attackParams);
const poisoned = await attack.poison(data.train);

async function check(train: Dataset, label: string): Promise<void> {
  const model = createModel('mnist-cnn', { width, inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  await fit(model, train, { lr: 0.1, batchSize: 32, maxEpochs: epochs }, { seed: 0 });
  const m = namedMetrics(model, data.test, attack.trigger);
  const s0 = performance.now();
  const out = await createDefence(defenceName, defenceParams).apply({ data: train });
  const inspected = out.inspectTrained!(model, data.test, attack.trigger);
  const seconds = (performance.now() - s0) / 1000;
  model.dispose();
  console.log(
    JSON.stringify({
      trainedOn: label,
      attack: attackName,
      attackParams,
      defence: defenceName,
      defenceParams,
      attackSuccessRate: m['attackSuccessRate'],
      ...inspected,
      defenceSeconds: Number(seconds.toFixed(1)),
      limit,
      testLimit,
      width,
      epochs,
    }),
  );
}

await check(poisoned.dataset, 'poisoned');
await check(data.train, 'clean');
