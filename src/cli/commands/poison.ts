import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type AscentCheckpoint, removeAscentState } from '../../attacks/ascent-state.js';
import {
  type AttackOutcome,
  attackDefaults,
  createRegisteredAttack,
  getAttackEntry,
  parseSettings,
} from '../../attacks/index.js';
import { initBackend } from '../../backend/index.js';
import { numSamples } from '../../data/dataset.js';
import { loadDataset } from '../../data/index.js';
import { writePoisonFile } from '../../data/poison-file.js';
import { loadSurrogate, type SurrogateMeta } from '../../train/surrogate.js';
import { check } from '../../util/errors.js';
import { checkOutputFile } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { createProgress } from '../progress.js';

interface PoisonFlags {
  dataset: string;
  regime?: string;
  attack?: string;
  set: string[];
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
  checkpoint?: string;
  checkpointEvery: number;
  json: boolean;
}

/** `poisonlab poison`: generate a poisoned training set (.npz) under one of the paper's threat models. */
export function register(program: Command): void {
  program
    .command('poison')
    .description(
      "poison a training set with any attack of 'poisonlab attacks' (--attack NAME --set key=value), or the paper's regime A, B or C",
    )
    .option(
      '--dataset <spec>',
      'mnist, cifar10, or another dataset spec (its training split is poisoned)',
      'mnist',
    )
    .option('--attack <name>', "an attack of 'poisonlab attacks' (default: regime A, l21-perturbation)")
    .option(
      '--set <key=value>',
      'an attack parameter (repeatable), e.g. --set rate=0.05 --set target=7',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--regime <A|B|C>', 'the paper threat model, the same as --attack A|B|C')
    .option(
      '--budget <v>',
      'C (regime A: sum ||delta_i|| <= C sqrt(n)) or B (regime B: ||delta_i|| <= B)',
      parseNumberOption('--budget', { min: 0 }),
    )
    .option(
      '--beta <p>',
      'regime C: flip probability in [0, 1]',
      parseNumberOption('--beta', { min: 0, max: 1 }),
    )
    .option(
      '--surrogate <file>',
      "surrogate (regimes A and B): a checkpoint from 'poisonlab surrogate train', or a PyTorch state_dict (.pth, .safetensors)",
    )
    .option(
      '--model <name>',
      "the surrogate's model when a .pth/.safetensors does not say (default: what its shapes say)",
    )
    .option(
      '--width <m>',
      "the surrogate's width, likewise",
      parseNumberOption('--width', { min: 1, integer: true }),
    )
    .option(
      '--epochs <n>',
      'ascent epochs (the original: 500)',
      parseNumberOption('--epochs', { min: 0, integer: true }),
      5,
    )
    .option(
      '--step <eta>',
      'ascent step size (default 0.1 MNIST, 0.5 CIFAR-10)',
      parseNumberOption('--step', { min: 0 }),
    )
    .option(
      '--batch-size <n>',
      'ascent minibatch size',
      parseNumberOption('--batch-size', { min: 1, integer: true }),
      128,
    )
    .option(
      '--project-every <when>',
      "project onto the budget every 'epoch' (the original) or 'step'",
      'epoch',
    )
    .option('--reduction <r>', "minibatch loss 'mean' (the original) or 'sum'", 'mean')
    .option(
      '--seed <s>',
      'seed of the minibatch order or of the label flips',
      parseNumberOption('--seed', { min: 0, integer: true }),
      0,
    )
    .option(
      '--limit <n>',
      'poison only the first n training samples',
      parseNumberOption('--limit', { min: 1, integer: true }),
    )
    .option('--out <file.npz>', 'where to write the poisoned set')
    .option(
      '--checkpoint <file.npz>',
      'gradient attacks: where the ascent saves its state and resumes from when run again (default: OUT with .attack-state.npz; removed when done)',
    )
    .option(
      '--checkpoint-every <seconds>',
      'gradient attacks: seconds between two saves, at epoch ends (0: after every epoch)',
      parseNumberOption('--checkpoint-every', { min: 0 }),
      60,
    )
    .option('--json', 'print one JSON object (the attack report)', false)
    .action(async (flags: PoisonFlags) => runPoison(flags));
}

async function runPoison(f: PoisonFlags): Promise<void> {
  check(!(f.regime && f.attack), 'poison: give --attack or --regime, not both');
  if (f.regime)
    check(
      ['A', 'B', 'C'].includes(f.regime.toUpperCase()),
      `--regime: expected A, B or C, got '${f.regime}'`,
    );
  const entry = getAttackEntry(f.attack ?? f.regime?.toUpperCase() ?? 'A');
  // The paper's regimes keep their flags (--budget, --beta, the ascent's); the entry says which regime it is.
  const regime = entry.paperRegime;
  check(f.out, 'poison: --out <file.npz> is required');
  check(f.out.endsWith('.npz'), `--out: expected a .npz file name, got '${f.out}'`);
  checkOutputFile(f.out, '--out');
  if (f.checkpoint !== undefined) checkOutputFile(f.checkpoint, '--checkpoint');
  // The paper's regimes keep their flags (and per-dataset defaults); --set overrides any parameter.
  // Only a missing --budget or --step asks the dataset's defaults (a dataset without them: one line asking for both).
  const defaults = () => attackDefaults(f.dataset, '--budget and --step');
  let legacy: Record<string, unknown> = {};
  if (regime === 'C') {
    check(
      f.beta !== undefined || f.set.some((s) => s.startsWith('beta=')),
      'regime C: --beta <p> (the flip probability in [0, 1]) is required',
    );
    legacy = { ...(f.beta !== undefined && { beta: f.beta }) };
  } else if (regime) {
    legacy = {
      budget: f.budget ?? (regime === 'A' ? defaults().C : defaults().B),
      epochs: f.epochs,
      step: f.step ?? defaults().step,
      batchSize: f.batchSize,
      projectEvery: f.projectEvery,
      reduction: f.reduction,
    };
  } else {
    check(
      f.budget === undefined && f.beta === undefined,
      `--budget/--beta: only for regimes A, B, C; use --set key=value for ${entry.name}`,
    );
  }
  // --seed goes to the attacks that have one (OPS and TAP have no randomness), as in a sweep
  const seeded = 'seed' in entry.params.shape ? { seed: f.seed } : {};
  const params = { ...legacy, ...seeded, ...parseSettings(f.set) };
  const attack = createRegisteredAttack(entry.name, params);
  if (entry.needs.surrogate)
    check(
      f.surrogate,
      `${regime ? `regime ${regime}` : entry.name}: --surrogate <file> is required (the attack ascends its loss)`,
    );

  await initBackend({ quiet: f.json });
  const data = await loadDataset(f.dataset, { ...(f.limit !== undefined && { limit: f.limit }) });
  const clean = data.train;
  let surrogate: { model: import('@tensorflow/tfjs').LayersModel; meta: SurrogateMeta } | undefined;
  if (entry.needs.surrogate && f.surrogate)
    surrogate = loadSurrogate(f.surrogate, clean, {
      ...(f.model !== undefined && { model: f.model }),
      ...(f.width !== undefined && { width: f.width }),
    });

  const progress = createProgress({ json: f.json });
  const what = regime ? `regime ${regime}` : entry.name;
  note(f.json, `${what} on ${f.dataset}: ${numSamples(clean)} training samples`);
  const checkpoint = attackCheckpoint(f, f.out);
  let result: AttackOutcome;
  let started = false;
  try {
    result = await attack.poison(clean, {
      ...(surrogate && { surrogate: surrogate.model }),
      onProgress: (done, total) => {
        if (!started) progress.start(total, `poison ${what}`, done);
        started = true;
        progress.update(done);
      },
      checkpoint,
      test: data.test,
    });
  } finally {
    progress.stop();
    surrogate?.model.dispose();
  }
  const { dataset, deltaNorm, report, poisonMask } = result;
  if (report.resumedEpoch !== undefined)
    note(f.json, `resumed after epoch ${report.resumedEpoch} from ${checkpoint.path}`);
  writePoisonFile(
    f.out,
    dataset,
    { deltaNorm, poisonMask },
    {
      attack: entry.name,
      regime: regime ?? null,
      params: report.params,
      seed: f.seed,
      surrogate: surrogate ? { path: f.surrogate, meta: surrogate.meta } : null,
      dataset: f.dataset,
      limit: f.limit ?? null,
      report,
    },
  );
  removeAscentState(checkpoint);
  if (f.json) printJson({ out: f.out, dataset: f.dataset, ...report });
  else {
    say(
      false,
      `${what}: budget ${report.budget.toFixed(4)}, sum ||delta|| ${report.deltaNormSum.toFixed(4)}, ` +
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

/**
 * Where a gradient attack of this command saves its state. Its fingerprint names the data and the surrogate
 * (by content), and the attack adds its own settings, so a save is only resumed by the same attack.
 */
function attackCheckpoint(f: PoisonFlags, out: string): AscentCheckpoint {
  const surrogate = f.surrogate ? createHash('sha256').update(readFileSync(f.surrogate)).digest('hex') : null;
  return {
    path: f.checkpoint ?? out.replace(/\.npz$/, '.attack-state.npz'),
    fingerprint: JSON.stringify({
      dataset: f.dataset,
      limit: f.limit ?? null,
      surrogate,
      model: f.model ?? null,
      width: f.width ?? null,
    }),
    everySeconds: f.checkpointEvery,
  };
}
