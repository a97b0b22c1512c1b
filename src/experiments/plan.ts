import { createHash } from 'node:crypto';
import { getAttackEntry } from '../attacks/index.js';
import {
  type AttackRef,
  type DefenceRef,
  type ExperimentConfig,
  foldRuns,
  type RegimeSpec,
  regimeLabel,
} from '../config/schema.js';
import type { RunMetrics, RunRecord } from '../results/records.js';
import { check } from '../util/errors.js';
import { attackLabel, defenceLabel } from './validate.js';

/**
 * One arm of a sweep: clean data, a paper regime, or a registry attack, optionally followed by a defence. The
 * paper's regimes keep their labels (`A-C500`), so their run keys, and old sweep folders, stay valid.
 */
export interface Arm {
  /** e.g. `clean`, `A-C500`, `badnets`, `badnets+spectral-signatures`. */
  label: string;
  /** The legacy regime this arm comes from (absent for `attacks` entries). */
  regime?: RegimeSpec;
  /** The registry attack and its raw params (absent for clean data); a regime maps to one (legacyAttack). */
  attack?: AttackRef;
  /** The label of the attack alone: the poison this arm trains on is made once per attack label. */
  attackLabel?: string;
  defence?: DefenceRef;
}

/** The registry attack a paper regime means, with the config's gradient-attack settings as its params. */
export function legacyAttack(r: RegimeSpec, config: ExperimentConfig): AttackRef | undefined {
  const g = config.attack && {
    epochs: config.attack.epochs,
    step: config.attack.step,
    batchSize: config.attack.batchSize,
    projectEvery: config.attack.projectEvery,
    // only when set, so that older configs keep their poison params
    ...(config.attack.surrogateMode !== undefined && { surrogateMode: config.attack.surrogateMode }),
    ...(config.attack.surrogateInput !== undefined && { surrogateInput: config.attack.surrogateInput }),
  };
  switch (r.regime) {
    case 'clean':
      return undefined;
    case 'A':
      return { name: 'l21-perturbation', params: { budget: r.budget, ...g } };
    case 'B':
      return r.attack === 'shift'
        ? { name: 'shift', params: { budget: r.budget } }
        : { name: 'per-sample-perturbation', params: { budget: r.budget, ...g } };
    case 'C':
      return { name: 'label-flip', params: { beta: r.beta } };
  }
}

/** The arms of a config in order: its regimes, its attacks, then every poisoned arm again with each defence. */
export function planArms(config: ExperimentConfig): Arm[] {
  const arms: Arm[] = [];
  for (const regime of config.regimes) {
    const label = regimeLabel(regime);
    const attack = legacyAttack(regime, config);
    arms.push({ label, regime, ...(attack && { attack, attackLabel: label }) });
  }
  for (const attack of config.attacks ?? []) {
    const label = attackLabel(attack);
    arms.push({ label, attack, attackLabel: label });
  }
  const poisoned = arms.filter((a) => a.attack);
  for (const defence of config.defences ?? [])
    for (const a of poisoned) arms.push({ ...a, label: `${a.label}+${defenceLabel(defence)}`, defence });
  return arms;
}

/** One training run of a sweep: an (arm, width, repetition, fold) cell, and its size n in a sample-size sweep. */
export interface RunSpec {
  /** Stable identity, e.g. `A-C500/w200/r1/f0`, or `A-C500/n1000/w200/r1/f0` in a sample-size sweep. */
  key: string;
  /** The paper regime of the run (absent for runs of `attacks` entries). */
  regime?: RegimeSpec;
  /** The registry attack (absent for clean runs) and the defence run before training, if any. */
  attack?: AttackRef;
  defence?: DefenceRef;
  /** regimeLabel(regime), e.g. `A-C500`, or the arm's label, e.g. `badnets+spectral-signatures`. */
  label: string;
  width: number;
  repetition: number;
  fold: number;
  /** Seed of the initialisation, the fold split and the minibatch order (the paper: seed = repetition). */
  seed: number;
  /** The poison this run trains on (undefined for clean runs). */
  poisonKey?: string;
  /** Sample-size sweeps (config.sizes): the run trains on the first `size` training samples (poisoned). */
  size?: number;
}

/**
 * One poisoned training set: generated once per (regime, repetition) over the whole training set, or per
 * (regime, size, repetition) over the first `size` samples in a sample-size sweep.
 */
export interface PoisonSpec {
  /** e.g. `A-C500-r1` (or `A-C500-n1000-r1`); also the .npz file name. */
  key: string;
  regime?: RegimeSpec;
  attack: AttackRef;
  label: string;
  repetition: number;
  /** Seed of the attack (minibatch order, label flips). */
  seed: number;
  /** Sample-size sweeps: the attack poisons the first `size` training samples. */
  size?: number;
}

/**
 * Every run of the config, in order regime, repetition, (size,) fold, width (so that one poison's runs come
 * together). Without `sizes` the keys are those of width sweeps, `A-C500/w200/r1/f0`.
 */
export function planRuns(config: ExperimentConfig): RunSpec[] {
  const runs: RunSpec[] = [];
  const sizes: (number | undefined)[] = config.sizes ?? [undefined];
  for (const arm of planArms(config)) {
    const { label } = arm;
    for (let r = 0; r < config.repetitions; r++) {
      for (const size of sizes) {
        const n = size === undefined ? '' : `/n${size}`;
        for (const fold of foldRuns(config)) {
          for (const width of config.widths) {
            runs.push({
              key: `${label}${n}/w${width}/r${r}/f${fold}`,
              ...(arm.regime && { regime: arm.regime }),
              ...(arm.attack && { attack: arm.attack }),
              ...(arm.defence && { defence: arm.defence }),
              label,
              width,
              repetition: r,
              fold,
              seed: config.seed + r,
              ...(arm.attackLabel && {
                poisonKey: poisonKey(arm.attackLabel, poisonRepetition(config, r), size),
              }),
              ...(size !== undefined && { size }),
            });
          }
        }
      }
    }
  }
  return runs;
}

/**
 * The seed of repetition r's poison: the config's base seed for one shared poison, else the repetition's. A run's
 * evaluation rebuilds its attack with it too, so that a backdoor's trigger and a targeted attack's targets are
 * those its poison was made for, also where one shared poison serves every repetition.
 */
export function poisonSeed(config: ExperimentConfig, repetition: number): number {
  return config.poison === 'shared' ? config.seed : config.seed + repetition;
}

/**
 * The targeted attacks of a config, by label, with their params: a clean run evaluates their targets too
 * (`targetMargin.<label>`), the reference against which the report measures each attack's pull on its targets.
 */
export function targetedAttacks(config: ExperimentConfig): { label: string; attack: AttackRef }[] {
  return planArms(config).flatMap((a) =>
    a.attack && !a.defence && getAttackEntry(a.attack.name).kind === 'targeted'
      ? [{ label: a.label, attack: a.attack }]
      : [],
  );
}

/** The repetition whose poison a run trains on: its own, or null with one shared poison (`poison: shared`). */
function poisonRepetition(config: ExperimentConfig, repetition: number): number | null {
  return config.poison === 'shared' ? null : repetition;
}

/** `A-C500-r1` per repetition, `A-C500-shared` for a shared poison (with `-n1000` in sample-size sweeps). */
function poisonKey(label: string, repetition: number | null, size?: number): string {
  const rep = repetition === null ? 'shared' : `r${repetition}`;
  return size === undefined ? `${label}-${rep}` : `${label}-n${size}-${rep}`;
}

/** The seed of the split into folds: the run's own, or the config's for every repetition (`folds.fixed`). */
export function foldSeed(config: ExperimentConfig, run: { seed: number }): number {
  return config.folds?.fixed ? config.seed : run.seed;
}

/** The poisons that `runs` need, each once, in first-use order. */
export function planPoisons(config: ExperimentConfig, runs: readonly RunSpec[]): PoisonSpec[] {
  const seen = new Map<string, PoisonSpec>();
  for (const run of runs) {
    if (!run.poisonKey || !run.attack || seen.has(run.poisonKey)) continue;
    seen.set(run.poisonKey, {
      key: run.poisonKey,
      ...(run.regime && { regime: run.regime }),
      attack: run.attack,
      label: run.label.split('+')[0]!,
      repetition: run.repetition,
      // A shared poison is made once with the base seed, whichever repetition needs it first.
      seed: poisonSeed(config, run.repetition),
      ...(run.size !== undefined && { size: run.size }),
    });
  }
  return [...seen.values()];
}

/** Whether a regime's poison is made against a surrogate (A, and B unless it is the deterministic shift). */
export function regimeNeedsSurrogate(r: RegimeSpec): boolean {
  return r.regime === 'A' || (r.regime === 'B' && r.attack !== 'shift');
}

/** Whether a run's or poison's attack is made against a surrogate (its registry entry says). */
export function attackNeedsSurrogate(r: { attack?: AttackRef }): boolean {
  return r.attack !== undefined && getAttackEntry(r.attack.name).needs.surrogate;
}

/** Whether runs or poisons need a surrogate (regimes A and B do, except B's shift; registry entries say). */
export function needsSurrogate(runs: readonly { attack?: AttackRef }[]): boolean {
  return runs.some(attackNeedsSurrogate);
}

/** A shard `i/N` (0 <= i < N) of a sweep. */
export interface Shard {
  index: number;
  count: number;
}

/** Parse `i/N` (e.g. `0/4`); errors name the flag. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  check(m, `--shard: expected i/N with 0 <= i < N (e.g. 0/4), got '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  check(count >= 1 && index < count, `--shard: expected i/N with 0 <= i < N (e.g. 0/4), got '${text}'`);
  return { index, count };
}

/** The shard (0..count-1) a run key belongs to: sha256 of the key, mod count. Independent of list order. */
export function shardOf(key: string, count: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % count;
}

/**
 * The runs whose key matches one of `patterns`, comma-separated globs over run keys (`*`: any characters), e.g.
 * `A-C500/w1000/*,B-B1/w10/*`: a part of a sweep chosen by hand, as a shard is chosen by hash. The config, its hash
 * and its folder stay those of the whole sweep, and only the poisons of the chosen runs are made (so a 3-hour
 * working period can take the arms and widths that fit it). A pattern that matches no run is a one-line error.
 */
export function selectRuns<T extends { key: string }>(runs: readonly T[], patterns?: string): T[] {
  if (patterns === undefined) return [...runs];
  const globs = patterns
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  check(
    globs.length > 0,
    `--runs: expected comma-separated patterns of run keys (e.g. ${runs[0]?.key ?? 'A-C500/w10/r0/f0'}), got '${patterns}'`,
  );
  const matchers = globs.map((g) => ({
    g,
    re: new RegExp(
      `^${g
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ),
  }));
  for (const { g, re } of matchers)
    check(
      runs.some((r) => re.test(r.key)),
      `--runs: '${g}' matches no run of this sweep (its keys look like ${runs[0]?.key ?? '(none)'}; * matches any characters)`,
    );
  return runs.filter((r) => matchers.some(({ re }) => re.test(r.key)));
}

/** The runs of shard `shard`; the shards 0..N-1 partition the run list. */
export function selectShard<T extends { key: string }>(runs: readonly T[], shard?: Shard): T[] {
  if (!shard || shard.count === 1) return [...runs];
  return runs.filter((r) => shardOf(r.key, shard.count) === shard.index);
}

/** The stored record of a finished run: its spec's identity, the metrics it reached, when and where it ran. */
export function runRecord(
  hash: string,
  run: RunSpec,
  metrics: RunMetrics,
  at: { startedAt: string; finishedAt: string; host: string },
): RunRecord {
  return {
    ...metrics,
    configHash: hash,
    runKey: run.key,
    regime: run.regime?.regime ?? run.attack?.name ?? 'clean',
    label: run.label,
    budget: run.regime?.budget ?? run.regime?.beta ?? null,
    width: run.width,
    repetition: run.repetition,
    fold: run.fold,
    seed: run.seed,
    ...at,
  };
}
