import type { Command } from 'commander';
import { attackDefaults, createAttack, type PoisonResult, type Regime } from '../../attacks/index.js';
import { loadSurrogate, type SurrogateMeta } from '../../attacks/surrogate.js';
import { initBackend } from '../../backend/index.js';
import { numSamples } from '../../data/dataset.js';
import { loadDataset } from '../../data/index.js';
import { writeNpz } from '../../io/npz.js';
import { check, checkNumber } from '../../util/errors.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress } from '../progress.js';

interface PoisonFlags {
  dataset: string;
  regime: string;
  budget?: number;
  beta?: number;
  surrogate?: string;
  model?: string;
  width?: number;
  epochs: number;
  step?: number;
  batchSize: number;
  projectEvery: string;
  reduction: string;
  seed: number;
  limit?: number;
  out?: string;
  json: boolean;
}

/** `poisonlab poison`: generate a poisoned training set (.npz) under one of the paper's threat models. */
export function register(program: Command): void {
  program
    .command('poison')
    .description('poison a training set: regime A (l2,1 budget), B (per-sample l2 budget) or C (label flips)')
    .option(
      '--dataset <spec>',
      'mnist, cifar10, or another dataset spec (its training split is poisoned)',
      'mnist',
    )
    .option('--regime <A|B|C>', 'threat model', 'A')
    .option(
      '--budget <v>',
      'C (regime A: sum ||delta_i|| <= C sqrt(n)) or B (regime B: ||delta_i|| <= B)',
      parseNumberOption('--budget'),
    )
    .option('--beta <p>', 'regime C: flip probability in [0, 1]', parseNumberOption('--beta'))
    .option(
      '--surrogate <file>',
      "surrogate (regimes A and B): a checkpoint from 'poisonlab surrogate train', or a PyTorch state_dict (.pth, .safetensors)",
    )
    .option(
      '--model <name>',
      "the surrogate's model when a .pth/.safetensors does not say (default: what its shapes say)",
    )
    .option('--width <m>', "the surrogate's width, likewise", parseNumberOption('--width'))
    .option('--epochs <n>', 'ascent epochs (the original: 500)', parseNumberOption('--epochs'), 5)
    .option('--step <eta>', 'ascent step size (default 0.1 MNIST, 0.5 CIFAR-10)', parseNumberOption('--step'))
    .option('--batch-size <n>', 'ascent minibatch size', parseNumberOption('--batch-size'), 128)
    .option(
      '--project-every <when>',
      "project onto the budget every 'epoch' (the original) or 'step'",
      'epoch',
    )
    .option('--reduction <r>', "minibatch loss 'mean' (the original) or 'sum'", 'mean')
    .option('--seed <s>', 'seed of the minibatch order or of the label flips', parseNumberOption('--seed'), 0)
    .option('--limit <n>', 'poison only the first n training samples', parseNumberOption('--limit'))
    .option('--out <file.npz>', 'where to write the poisoned set')
    .option('--json', 'print one JSON object (the attack report)', false)
    .action(async (flags: PoisonFlags) => runPoison(flags));
}

async function runPoison(f: PoisonFlags): Promise<void> {
  const regime = f.regime.toUpperCase() as Regime;
  check(['A', 'B', 'C'].includes(regime), `--regime: expected A, B or C, got '${f.regime}'`);
  check(f.out, 'poison: --out <file.npz> is required');
  check(f.out.endsWith('.npz'), `--out: expected a .npz file name, got '${f.out}'`);
  checkNumber(f.epochs, '--epochs', { min: 0, integer: true });
  checkNumber(f.batchSize, '--batch-size', { min: 1, integer: true });
  checkNumber(f.seed, '--seed', { min: 0, integer: true });
  check(
    f.projectEvery === 'epoch' || f.projectEvery === 'step',
    `--project-every: expected 'epoch' or 'step', got '${f.projectEvery}'`,
  );
  check(
    f.reduction === 'mean' || f.reduction === 'sum',
    `--reduction: expected 'mean' or 'sum', got '${f.reduction}'`,
  );
  if (f.limit !== undefined) checkNumber(f.limit, '--limit', { min: 1, integer: true });
  if (f.width !== undefined) checkNumber(f.width, '--width', { min: 1, integer: true });
  const defaults = attackDefaults(f.dataset);
  const step = checkNumber(f.step ?? defaults.step, '--step', { min: 0 });
  let budget: number | undefined;
  if (regime === 'C') {
    check(f.beta !== undefined, 'regime C: --beta <p> (the flip probability in [0, 1]) is required');
    checkNumber(f.beta, '--beta', { min: 0, max: 1 });
  } else {
    budget = checkNumber(
      f.budget ?? (regime === 'A' ? defaults.C : defaults.B),
      `--budget (${regime === 'A' ? 'C' : 'B'})`,
      {
        min: 0,
      },
    );
    check(f.surrogate, `regime ${regime}: --surrogate <file> is required (the attack ascends its loss)`);
  }

  await initBackend({ quiet: f.json });
  const data = await loadDataset(f.dataset, { ...(f.limit !== undefined && { limit: f.limit }) });
  const clean = data.train;
  let surrogate: { model: import('@tensorflow/tfjs').LayersModel; meta: SurrogateMeta } | undefined;
  if (regime !== 'C' && f.surrogate)
    surrogate = loadSurrogate(f.surrogate, clean, {
      ...(f.model !== undefined && { model: f.model }),
      ...(f.width !== undefined && { width: f.width }),
    });

  const progress = createProgress({ json: f.json });
  const attack = createAttack({
    regime,
    ...(budget !== undefined && { budget }),
    ...(f.beta !== undefined && { beta: f.beta }),
    epochs: f.epochs,
    step,
    batchSize: f.batchSize,
    seed: f.seed,
    projectEvery: f.projectEvery as 'epoch' | 'step',
    reduction: f.reduction as 'mean' | 'sum',
    onProgress: (done, total) => {
      if (done === 1) progress.start(total, `poison ${regime}`);
      progress.update(done);
    },
  });
  note(f.json, `regime ${regime} on ${f.dataset}: ${numSamples(clean)} training samples`);
  let result: PoisonResult;
  try {
    result = await attack.poison(clean, surrogate?.model);
  } finally {
    progress.stop();
    surrogate?.model.dispose();
  }
  const { dataset, deltaNorm, report } = result;
  const n = numSamples(dataset);
  writeNpz(
    f.out,
    {
      x: { data: dataset.x, shape: [n, ...dataset.sampleShape] },
      y: { data: dataset.y, shape: [n] },
      delta_norm: { data: deltaNorm, shape: [n] },
    },
    {
      kind: 'poisonlab-poison',
      attack: attack.constructor.name,
      regime,
      params: report.params,
      seed: f.seed,
      surrogate: surrogate ? { path: f.surrogate, meta: surrogate.meta } : null,
      dataset: f.dataset,
      limit: f.limit ?? null,
      sampleShape: [...dataset.sampleShape],
      classNames: [...dataset.classNames],
      report,
    },
  );
  if (f.json) printJson({ out: f.out, dataset: f.dataset, ...report });
  else {
    say(
      false,
      `regime ${regime}: budget ${report.budget.toFixed(4)}, sum ||delta|| ${report.deltaNormSum.toFixed(4)}, ` +
        `max ||delta|| ${report.deltaNormMax.toFixed(4)}, ${report.samplesChanged} samples changed, ` +
        `${report.labelsFlipped} labels flipped, ${report.seconds.toFixed(1)}s` +
        (report.budgetSpent !== undefined
          ? `; ${(100 * report.budgetSpent).toFixed(1)}% of the budget spent`
          : ''),
    );
    if (report.surrogateBefore && report.surrogateAfter) {
      say(
        false,
        `surrogate loss ${report.surrogateBefore.loss.toFixed(4)} -> ${report.surrogateAfter.loss.toFixed(4)}, ` +
          `accuracy ${(100 * report.surrogateBefore.accuracy).toFixed(2)}% -> ${(100 * report.surrogateAfter.accuracy).toFixed(2)}%`,
      );
    }
    say(false, `wrote ${f.out}`);
  }
}
