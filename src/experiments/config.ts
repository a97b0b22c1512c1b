import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { check, PoisonlabError } from '../util/errors.js';

const posInt = z.number().int().positive();
const posNum = z.number().positive();

/** One poisoning regime of a sweep: clean data, or the paper's regime A (l2,1 budget C), B (per-sample B), C (flip rate beta). */
export const RegimeSpecSchema = z
  .object({
    regime: z.enum(['clean', 'A', 'B', 'C']),
    /** C for regime A (overall budget C * sqrt(n)), B for regime B (per-sample l2 budget). */
    budget: posNum.optional(),
    /** Label-flip probability for regime C. */
    beta: z.number().min(0).max(1).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.regime === 'A' || r.regime === 'B') && r.budget === undefined)
      ctx.addIssue({ code: 'custom', path: ['budget'], message: `regime ${r.regime} needs a budget (> 0)` });
    if (r.regime === 'C' && r.beta === undefined)
      ctx.addIssue({ code: 'custom', path: ['beta'], message: 'regime C needs beta in [0, 1]' });
    if (r.regime !== 'A' && r.regime !== 'B' && r.budget !== undefined)
      ctx.addIssue({ code: 'custom', path: ['budget'], message: `regime ${r.regime} takes no budget` });
    if (r.regime !== 'C' && r.beta !== undefined)
      ctx.addIssue({ code: 'custom', path: ['beta'], message: `regime ${r.regime} takes no beta` });
  });

export type RegimeSpec = z.infer<typeof RegimeSpecSchema>;

/** The schema of a sweep: what to poison, which widths to train, and how. */
export const ExperimentConfigSchema = z
  .object({
    /** Free-form name (the preset's name for presets). */
    name: z.string().min(1).default('custom'),
    /** Dataset spec for loadDataset, e.g. 'mnist' or a CIFAR-10 JPEG folder spec. */
    dataset: z.string().min(1),
    /** Train subset size (the first `limit` training images); all when absent. */
    limit: posInt.optional(),
    /** Test subset size; all when absent. */
    testLimit: posInt.optional(),
    /** Binary task spec passed to loadDataset: 'a,b' (class a -> -1, b -> +1) or 'even-odd'. */
    classes: z.string().min(1).optional(),
    /** Model family passed to createModel ('mnist-cnn', 'cifar-cnn', 'twolayer', ...). */
    model: z.string().min(1),
    widths: z.array(posInt).min(1),
    regimes: z.array(RegimeSpecSchema).min(1),
    /** Settings of the gradient attacks (regimes A and B). */
    attack: z
      .object({
        epochs: posInt,
        step: posNum,
        batchSize: posInt,
        /** When delta is projected onto the budget: once per 'epoch' (the original) or after every 'step'. */
        projectEvery: z.enum(['epoch', 'step']).default('epoch'),
      })
      .strict(),
    /** The frozen network the attacks ascend against: a saved checkpoint, or how to train one. */
    surrogate: z
      .object({
        path: z.string().min(1).optional(),
        model: z.string().min(1),
        /** Width of width-scaled surrogates (the original's MNIST surrogate: 100); absent for AlexNet. */
        width: posInt.optional(),
        epochs: posInt,
        lr: posNum,
        batchSize: posInt,
      })
      .strict(),
    training: z
      .object({
        lr: posNum,
        batchSize: posInt,
        maxEpochs: posInt,
        patience: posInt,
        momentum: z.number().min(0).max(1).default(0),
        weightDecay: z.number().min(0).default(0),
      })
      .strict(),
    /** Stratified k-fold split: train on k-1 folds, validate on the (poisoned) fold `run[i]`. */
    folds: z
      .object({
        k: z.number().int().min(2),
        run: z.array(z.number().int().min(0)).min(1),
      })
      .strict(),
    /** Repetitions with seeds seed .. seed + repetitions - 1; the poison is regenerated per repetition. */
    repetitions: posInt,
    /** Base seed (the paper's repetitions use 0..N-1). */
    seed: z.number().int().min(0).default(0),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.folds.run.forEach((f, i) => {
      if (f >= c.folds.k)
        ctx.addIssue({
          code: 'custom',
          path: ['folds', 'run', i],
          message: `fold ${f} is outside [0, ${c.folds.k})`,
        });
    });
    if (new Set(c.folds.run).size !== c.folds.run.length)
      ctx.addIssue({ code: 'custom', path: ['folds', 'run'], message: 'folds are listed twice' });
    if (new Set(c.widths).size !== c.widths.length)
      ctx.addIssue({ code: 'custom', path: ['widths'], message: 'widths are listed twice' });
    const labels = c.regimes.map(regimeLabel);
    if (new Set(labels).size !== labels.length)
      ctx.addIssue({ code: 'custom', path: ['regimes'], message: 'a regime is listed twice' });
  });

/** A validated sweep configuration (defaults filled in). */
export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;

/** Stable, readable name of a regime: 'clean', 'A-C500', 'B-B1', 'C-beta0.2'. */
export function regimeLabel(r: RegimeSpec): string {
  switch (r.regime) {
    case 'clean':
      return 'clean';
    case 'A':
      return `A-C${r.budget}`;
    case 'B':
      return `B-B${r.budget}`;
    case 'C':
      return `C-beta${r.beta}`;
  }
}

/**
 * Validate a plain object as a sweep config. Errors are one line naming the field path and what was
 * expected, e.g. `config (quick.yaml): training.lr: Too small: expected number to be >0`.
 */
export function parseConfig(raw: unknown, source = 'config'): ExperimentConfig {
  const res = ExperimentConfigSchema.safeParse(raw);
  if (res.success) return res.data;
  const issues = res.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new PoisonlabError(`${source}: ${issues.join('; ')}`);
}

/** Load a sweep config from a .json, .yaml or .yml file. */
export function loadConfigFile(path: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PoisonlabError(`${path}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    const first = String((e as Error).message).split('\n')[0];
    throw new PoisonlabError(`${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'} (${first})`);
  }
  return parseConfig(raw, path);
}

/** JSON with object keys sorted recursively, so equal configs serialise identically. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const val = (v as Record<string, unknown>)[k];
      if (val !== undefined) out[k] = sortKeys(val);
    }
    return out;
  }
  return v;
}

/** sha256 (hex) of the canonical JSON of the validated config: the identity of a sweep folder. */
export function configHash(config: ExperimentConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

/** Command-line overrides applied on top of a preset or a config file. */
export interface ConfigOverrides {
  widths?: number[];
  repetitions?: number;
  limit?: number;
  testLimit?: number;
  maxEpochs?: number;
  patience?: number;
  attackEpochs?: number;
  folds?: number[];
  dataset?: string;
}

/** Apply overrides and re-validate (so an override error names its field too). */
export function applyOverrides(config: ExperimentConfig, o: ConfigOverrides): ExperimentConfig {
  const raw = structuredClone(config) as Record<string, unknown> & ExperimentConfig;
  if (o.widths) raw.widths = o.widths;
  if (o.repetitions !== undefined) raw.repetitions = o.repetitions;
  if (o.limit !== undefined) raw.limit = o.limit;
  if (o.testLimit !== undefined) raw.testLimit = o.testLimit;
  if (o.maxEpochs !== undefined) raw.training.maxEpochs = o.maxEpochs;
  if (o.patience !== undefined) raw.training.patience = o.patience;
  if (o.attackEpochs !== undefined) raw.attack.epochs = o.attackEpochs;
  if (o.folds) raw.folds.run = o.folds;
  if (o.dataset) raw.dataset = o.dataset;
  return parseConfig(raw, 'config overrides');
}

/** Parse a comma-separated list of numbers ('10,50,1e3'); `what` names the flag in errors. */
export function parseNumberList(text: string, what: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  check(
    parts.length > 0 && parts.every((p) => p !== ''),
    `${what}: expected comma-separated numbers, got '${text}'`,
  );
  return parts.map((p) => {
    const v = Number(p);
    check(Number.isFinite(v), `${what}: '${p}' is not a number`);
    return v;
  });
}
