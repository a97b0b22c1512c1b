import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { check, fileSystemError, PoisonlabError } from '../util/errors.js';

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
    /**
     * How regime B's perturbation is made: 'pgd' (absent: the surrogate-based gradient attack) or 'shift'
     * (the theory toy's deterministic attack: every point moves by exactly B towards the other class's mean;
     * binary tasks only, no surrogate). Absent rather than defaulted, so older configs keep their hash.
     */
    attack: z.enum(['pgd', 'shift']).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.attack !== undefined && r.regime !== 'B')
      ctx.addIssue({
        code: 'custom',
        path: ['attack'],
        message: `regime ${r.regime} takes no attack method`,
      });
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

const labelText = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, . _ or -')
  .optional();

/**
 * One attack of the registry in a sweep: `{name: badnets, params: {rate: 0.05}}`. Params are stored as written
 * (defaults are filled in when the poison is made), and `seed` is always the repetition's seed. `label` names its
 * runs (default: the name).
 */
export const AttackRefSchema = z
  .object({
    name: z.string().min(1),
    params: z.record(z.string(), z.unknown()).optional(),
    label: labelText,
  })
  .strict();
export type AttackRef = z.infer<typeof AttackRefSchema>;

/** One defence of the registry, run between poisoning and training on every poisoned arm of the sweep. */
export const DefenceRefSchema = AttackRefSchema;
export type DefenceRef = z.infer<typeof DefenceRefSchema>;

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
    /**
     * The model's own parameters (its spec's schema, e.g. mlp's `{ depth: 3 }`); absent: its defaults. Names and
     * values are the model registry's to check (experiments/validate.ts).
     */
    modelParams: z.record(z.string(), z.unknown()).optional(),
    widths: z.array(posInt).min(1),
    /**
     * Training-set sizes n to sweep (the original's sample-size experiment): every run and every poison is made
     * per size, on the first n training samples. Absent: one size, the whole (limited) training set.
     */
    sizes: z.array(posInt).min(1).optional(),
    /**
     * The paper's regimes (each maps to a registry attack: A l21-perturbation, B per-sample-perturbation or shift,
     * C label-flip). May be left out when `attacks` lists everything.
     */
    regimes: z.array(RegimeSpecSchema).default([]),
    /** Attacks of the registry (`poisonlab attacks`), each with its params; beside or instead of `regimes`. */
    attacks: z.array(AttackRefSchema).min(1).optional(),
    /** Defences of the registry run on every poisoned training set before training; each adds its own runs. */
    defences: z.array(DefenceRefSchema).min(1).optional(),
    /** Settings of the gradient attacks (regimes A and B; not needed without them). */
    attack: z
      .object({
        epochs: posInt,
        step: posNum,
        batchSize: posInt,
        /** When delta is projected onto the budget: once per 'epoch' (the original) or after every 'step'. */
        projectEvery: z.enum(['epoch', 'step']).default('epoch'),
        /**
         * The surrogate in inference mode ('eval', absent) or in training mode ('train': dropout active, masks
         * seeded by the repetition's seed; the original's CIFAR attack). Absent rather than defaulted, so older
         * configs keep their hash.
         */
        surrogateMode: z.enum(['eval', 'train']).optional(),
        /**
         * What the surrogate sees: 'raw' (absent) x + delta past its input normalisation, as the original's attack;
         * 'normalized' through it.
         */
        surrogateInput: z.enum(['raw', 'normalized']).optional(),
      })
      .strict()
      .optional(),
    /** The frozen network the attacks ascend against: a saved checkpoint, or how to train one. */
    surrogate: z
      .object({
        path: z.string().min(1).optional(),
        model: z.string().min(1),
        /** Width of width-scaled surrogates (the original's MNIST surrogate: 100); absent for AlexNet. */
        width: posInt.optional(),
        /**
         * Training images of a trained surrogate: the first `limit` of the dataset's training split, which may be
         * more than the sweep's own `limit` (a strong surrogate for a sweep on a slice); it is then measured on
         * the whole test split. Absent: the sweep's training and test sets.
         */
        limit: posInt.optional(),
        epochs: posInt,
        lr: posNum,
        batchSize: posInt,
        /** Step decay of the surrogate's learning rate (see training.lrDecay); absent: a constant rate. */
        lrDecay: z.object({ every: posInt, factor: posNum }).strict().optional(),
        /** SGD momentum of a trained surrogate; absent: 0 (plain SGD). */
        momentum: z.number().min(0).max(1).optional(),
      })
      .strict()
      .optional(),
    /**
     * Per-channel input normalisation with the dataset's mean and std (data/defaults.ts; CIFAR-10: the original's
     * transforms) as the first layer of the width-m networks (training, validation, test) and of a surrogate
     * trained here. The attack still feeds raw x + delta to the surrogate unless attack.surrogateInput says
     * 'normalized'. Absent: raw pixels everywhere (so older configs keep their hash).
     */
    normalize: z.boolean().optional(),
    training: z
      .object({
        lr: posNum,
        batchSize: posInt,
        maxEpochs: posInt,
        /** Early-stopping patience on validation accuracy; absent (or no validation fold): no early stopping. */
        patience: posInt.optional(),
        momentum: z.number().min(0).max(1).default(0),
        weightDecay: z.number().min(0).default(0),
        /**
         * Step decay: lr * factor^floor(e / every) in epoch e (1-based), the original's `if (t+1) % 20 == 0:
         * lr /= 2` at the top of 0-based epoch t (advgencifar.py). Absent: a constant rate (older hashes kept).
         */
        lrDecay: z.object({ every: posInt, factor: posNum }).strict().optional(),
        /**
         * The training loss: 'crossentropy', 'logistic' or 'bce-onehot' (BCEWithLogitsLoss on one-hot labels, the
         * original toy's). Absent: the model's default (logistic for one logit, cross-entropy otherwise). Absent
         * rather than defaulted, so older configs keep their hash.
         */
        loss: z.enum(['crossentropy', 'logistic', 'bce-onehot']).optional(),
        /**
         * Which best-validation weights a run keeps: `by` accuracy or loss, checked `every` epoch or step (after
         * each SGD update: the original toy's rule). Absent: by accuracy, every epoch (the paper's MNIST rule).
         * Needs a validation fold. Absent rather than defaulted, so older configs keep their hash.
         */
        keepBest: z
          .object({ by: z.enum(['accuracy', 'loss']), every: z.enum(['epoch', 'step']) })
          .strict()
          .optional(),
      })
      .strict(),
    /**
     * Stratified k-fold split: train on k-1 folds, validate on the (poisoned) fold `run[i]`. Absent or k = 1:
     * train on the whole training set, no validation, no early stopping (the theory toy's protocol).
     */
    folds: z
      .object({
        k: z.number().int().min(1),
        run: z.array(z.number().int().min(0)).min(1),
        /**
         * true: one split for every repetition (seeded by `seed`), as the original at the paper's figure
         * (mnist_ntk.py of 2021-05-02, line 163: one StratifiedKFold built once, outside the repetition loop).
         * Absent: each repetition splits with its own seed. Absent rather than false, so older configs keep
         * their hash.
         */
        fixed: z.literal(true).optional(),
      })
      .strict()
      .optional(),
    /**
     * 'shared': one poison per attack, made with `seed`, for every repetition (the original at the paper's figure:
     * flag=1 loads one saved poison per budget, mnist_ntk.py of 2021-05-02, lines 74, 115, 132). Absent: a poison
     * per repetition, with the repetition's seed (absent rather than defaulted, so older configs keep their hash).
     */
    poison: z.enum(['shared', 'per-repetition']).optional(),
    /** Repetitions with seeds seed .. seed + repetitions - 1; the poison is regenerated per repetition. */
    repetitions: posInt,
    /** Base seed (the paper's repetitions use 0..N-1). */
    seed: z.number().int().min(0).default(0),
    /**
     * Draw the theorem's width window in the report: gamma is estimated (estimateMargin) on the clean training
     * set, then theoryBounds gives m >= c / gamma^8 and, per regime, the largest width its budget allows.
     */
    theory: z
      .object({
        /** Failure probability delta of the bound (0 < delta < 1). */
        delta: z.number().gt(0).lt(1),
        /** The constant every ~O(.) stands for. */
        constant: posNum.default(1),
        /** Samples of z for the margin estimate (fewer is faster and noisier). */
        marginSamples: posInt.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const folds = c.folds;
    folds?.run.forEach((f, i) => {
      if (f >= folds.k)
        ctx.addIssue({
          code: 'custom',
          path: ['folds', 'run', i],
          message: `fold ${f} is outside [0, ${folds.k})`,
        });
    });
    if (folds && new Set(folds.run).size !== folds.run.length)
      ctx.addIssue({ code: 'custom', path: ['folds', 'run'], message: 'folds are listed twice' });
    if (c.regimes.length === 0 && !c.attacks)
      ctx.addIssue({
        code: 'custom',
        path: ['regimes'],
        message: 'expected at least one regime, or attacks',
      });
    const gradientAttack = c.regimes.some(
      (r) => r.regime === 'A' || (r.regime === 'B' && r.attack !== 'shift'),
    );
    if (gradientAttack && !c.attack)
      ctx.addIssue({ code: 'custom', path: ['attack'], message: 'regimes A and B need attack settings' });
    if (gradientAttack && !c.surrogate)
      ctx.addIssue({ code: 'custom', path: ['surrogate'], message: 'regimes A and B need a surrogate' });
    if (c.training.keepBest && !hasValidation(c))
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'keepBest'],
        message: 'keepBest needs a validation fold (folds with k >= 2)',
      });
    if (c.sizes && new Set(c.sizes).size !== c.sizes.length)
      ctx.addIssue({ code: 'custom', path: ['sizes'], message: 'sizes are listed twice' });
    c.sizes?.forEach((n, i) => {
      if (c.limit !== undefined && n > c.limit)
        ctx.addIssue({
          code: 'custom',
          path: ['sizes', i],
          message: `size ${n} exceeds the training limit ${c.limit}`,
        });
    });
    if (new Set(c.widths).size !== c.widths.length)
      ctx.addIssue({ code: 'custom', path: ['widths'], message: 'widths are listed twice' });
    const labels = c.regimes.map(regimeLabel);
    if (new Set(labels).size !== labels.length)
      ctx.addIssue({ code: 'custom', path: ['regimes'], message: 'a regime is listed twice' });
    // Attack and defence names, their parameters and labels are checked by the registries that hold them
    // (experiments/validate.ts): this schema loads no attack or defence code.
  });

/** A validated sweep configuration (defaults filled in). */
export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;

/** The validation folds the runs use: folds.run, or [0] (a single run on all data) without k-fold. */
export function foldRuns(config: ExperimentConfig): number[] {
  return config.folds?.run ?? [0];
}

/** Whether runs hold out a validation fold (k >= 2); otherwise they train on everything without early stopping. */
export function hasValidation(config: ExperimentConfig): boolean {
  return config.folds !== undefined && config.folds.k >= 2;
}

/** Readable description of the split, e.g. 'folds 0, 1 of 5' or 'no validation split'. */
export function describeFolds(config: ExperimentConfig): string {
  return hasValidation(config)
    ? `folds ${foldRuns(config).join(', ')} of ${config.folds!.k}`
    : 'no validation split (trained on all, no early stopping)';
}

/** Stable, readable name of a regime: 'clean', 'A-C500', 'B-B1', 'C-beta0.2'. */
export function regimeLabel(r: RegimeSpec): string {
  switch (r.regime) {
    case 'clean':
      return 'clean';
    case 'A':
      return `A-C${r.budget}`;
    case 'B':
      return r.attack === 'shift' ? `B-shift${r.budget}` : `B-B${r.budget}`;
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
  // A misspelt field first, with the nearest valid name: the missing fields it causes are noise until it is fixed.
  const unknown = res.error.issues.filter((i) => i.code === 'unrecognized_keys');
  const shown = unknown.length > 0 ? unknown : res.error.issues;
  const issues = shown.map((i) => {
    const where = i.path.length ? i.path.join('.') : '(root)';
    if (i.code !== 'unrecognized_keys') return `${where}: ${i.message}`;
    const valid = fieldsAt(ExperimentConfigSchema, i.path);
    return i.keys
      .map((k) => {
        const near = nearestName(k, valid);
        const at = i.path.length ? `${i.path.join('.')}.${k}` : k;
        return `${at}: unknown field${near ? ` (did you mean '${near}'?)` : ''}`;
      })
      .join('; ');
  });
  throw new PoisonlabError(`${source}: ${issues.join('; ')}`);
}

/** The field names of the (strict) object schema at `path` inside `schema`, unwrapping optional and default. */
function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  const unwrap = () => {
    for (let guard = 0; guard < 8; guard++) {
      const def = (s as { def?: { innerType?: unknown; element?: unknown; type?: string } }).def;
      if (def?.innerType) s = def.innerType;
      else break;
    }
  };
  unwrap();
  for (const key of path) {
    const def = (s as { def?: { type?: string; element?: unknown } }).def;
    if (def?.type === 'array' && typeof key === 'number') s = def.element;
    else s = (s as { shape?: Record<string, unknown> }).shape?.[String(key)];
    if (s === undefined) return [];
    unwrap();
  }
  return Object.keys((s as { shape?: Record<string, unknown> }).shape ?? {});
}

/** The candidate closest to `name` by edit distance, if it is close (at most a third of its letters differ). */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.ceil(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * Where `extends:` finds a base by name (a preset): the raw config, or undefined for an unknown name. Passed in by
 * the caller (experiments knows the presets; config sits below it).
 */
export type ConfigBases = (name: string) => unknown | undefined;

/**
 * Load a sweep config from a .json, .yaml or .yml file. A file may start from a base, `extends: laptop-mnist` (a
 * preset, looked up with `bases`) or `extends: ./other.yaml` (a config file, relative to this one), and give only
 * what differs: objects merge field by field, lists and values replace, and `null` removes a field of the base.
 */
export function loadConfigFile(path: string, bases?: ConfigBases): ExperimentConfig {
  return parseConfig(resolveExtends(readConfigFile(path), path, bases, [path]), path);
}

/** A config with its `extends:` chain resolved into one plain object (not yet validated). */
function resolveExtends(raw: unknown, path: string, bases: ConfigBases | undefined, seen: string[]): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !('extends' in raw)) return raw;
  const { extends: base, ...own } = raw as Record<string, unknown>;
  check(
    typeof base === 'string' && base !== '',
    `${path}: extends: expected a preset name or a config file path`,
  );
  let baseRaw: unknown;
  if (/\.(ya?ml|json)$/i.test(base)) {
    const file = resolvePath(dirname(path), base);
    check(!seen.includes(file), `${path}: extends: ${base} extends itself (${[...seen, file].join(' -> ')})`);
    baseRaw = resolveExtends(readConfigFile(file), file, bases, [...seen, file]);
  } else {
    baseRaw = bases?.(base);
    check(
      baseRaw !== undefined,
      `${path}: extends: unknown preset '${base}' (expected a preset name or a .yaml/.json file)`,
    );
  }
  return mergeConfig(structuredClone(baseRaw), own);
}

/** `over` on top of `base`: plain objects merge by field, anything else replaces, null removes. */
function mergeConfig(base: unknown, over: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(base) || !isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = mergeConfig(base[k], v);
  }
  return out;
}

/** The raw object of a .json, .yaml or .yml config file; unreadable or malformed files are one-line errors. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw (
      fileSystemError(e, { path, expected: 'a config file' }) ??
      new PoisonlabError(`${path}: cannot read config file (${String(e)})`)
    );
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    const first = String((e as Error).message).split('\n')[0];
    throw new PoisonlabError(`${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'} (${first})`);
  }
  return raw;
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
  sizes?: number[];
}

/**
 * Apply overrides and re-validate (so an override error names its field too). `takesEpochs` says which
 * registry attacks have ascent epochs (the registry knows; this layer does not load it): `--attack-epochs`
 * reaches those and the config's gradient-attack block.
 */
export function applyOverrides(
  config: ExperimentConfig,
  o: ConfigOverrides,
  takesEpochs: (attackName: string) => boolean = () => false,
): ExperimentConfig {
  const raw = structuredClone(config) as Record<string, unknown> & ExperimentConfig;
  if (o.widths) raw.widths = o.widths;
  if (o.repetitions !== undefined) raw.repetitions = o.repetitions;
  if (o.limit !== undefined) raw.limit = o.limit;
  if (o.testLimit !== undefined) raw.testLimit = o.testLimit;
  if (o.maxEpochs !== undefined) raw.training.maxEpochs = o.maxEpochs;
  if (o.patience !== undefined) raw.training.patience = o.patience;
  if (o.attackEpochs !== undefined) {
    // The config's gradient-attack block, and every registry attack that takes epochs (the gradient attacks).
    const gradient = (raw.attacks ?? []).filter((a) => takesEpochs(a.name));
    check(raw.attack || gradient.length > 0, '--attack-epochs: this config has no gradient attack');
    if (raw.attack) raw.attack.epochs = o.attackEpochs;
    for (const a of gradient) a.params = { ...a.params, epochs: o.attackEpochs };
  }
  if (o.folds) {
    check(raw.folds, '--folds: this config has no k-fold split (it trains on all data)');
    raw.folds.run = o.folds;
  }
  if (o.sizes) {
    check(raw.sizes, '--sizes: this config sweeps widths, not training-set sizes');
    raw.sizes = o.sizes;
  }
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
