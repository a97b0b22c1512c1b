import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { check } from '../util/errors.js';
import { type ExperimentConfig, foldRuns, type RegimeSpec, regimeLabel } from './config.js';
import type { RunMetrics, RunRecord } from './store.js';

/** One training run of a sweep: a (regime, width, repetition, fold) cell, and its size n in a sample-size sweep. */
export interface RunSpec {
  /** Stable identity, e.g. `A-C500/w200/r1/f0`, or `A-C500/n1000/w200/r1/f0` in a sample-size sweep. */
  key: string;
  regime: RegimeSpec;
  /** regimeLabel(regime), e.g. `A-C500`. */
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
  regime: RegimeSpec;
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
  for (const regime of config.regimes) {
    const label = regimeLabel(regime);
    for (let r = 0; r < config.repetitions; r++) {
      for (const size of sizes) {
        const n = size === undefined ? '' : `/n${size}`;
        for (const fold of foldRuns(config)) {
          for (const width of config.widths) {
            runs.push({
              key: `${label}${n}/w${width}/r${r}/f${fold}`,
              regime,
              label,
              width,
              repetition: r,
              fold,
              seed: config.seed + r,
              ...(regime.regime !== 'clean' && { poisonKey: poisonKey(label, r, size) }),
              ...(size !== undefined && { size }),
            });
          }
        }
      }
    }
  }
  return runs;
}

function poisonKey(label: string, repetition: number, size?: number): string {
  return size === undefined ? `${label}-r${repetition}` : `${label}-n${size}-r${repetition}`;
}

/** The poisons that `runs` need, each once, in first-use order. */
export function planPoisons(config: ExperimentConfig, runs: readonly RunSpec[]): PoisonSpec[] {
  const seen = new Map<string, PoisonSpec>();
  for (const run of runs) {
    if (!run.poisonKey || seen.has(run.poisonKey)) continue;
    seen.set(run.poisonKey, {
      key: run.poisonKey,
      regime: run.regime,
      label: run.label,
      repetition: run.repetition,
      seed: config.seed + run.repetition,
      ...(run.size !== undefined && { size: run.size }),
    });
  }
  return [...seen.values()];
}

/** Whether a regime's poison is made against a surrogate (A, and B unless it is the deterministic shift). */
export function regimeNeedsSurrogate(r: RegimeSpec): boolean {
  return r.regime === 'A' || (r.regime === 'B' && r.attack !== 'shift');
}

/** Whether runs or poisons need a surrogate (regimes A and B do, except B's shift). */
export function needsSurrogate(runs: readonly { regime: RegimeSpec }[]): boolean {
  return runs.some((r) => regimeNeedsSurrogate(r.regime));
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

/** The runs of shard `shard`; the shards 0..N-1 partition the run list. */
export function selectShard<T extends { key: string }>(runs: readonly T[], shard?: Shard): T[] {
  if (!shard || shard.count === 1) return [...runs];
  return runs.filter((r) => shardOf(r.key, shard.count) === shard.index);
}

/** Where a sweep folder keeps its files. */
export function sweepPaths(out: string) {
  return {
    db: join(out, 'runs.sqlite'),
    surrogate: join(out, 'surrogate.npz'),
    poisonDir: join(out, 'poisons'),
    poison: (key: string) => join(out, 'poisons', `${key}.npz`),
    /** A run's per-epoch training checkpoint (removed when the run finishes). */
    checkpoint: (runKey: string) => join(out, 'checkpoints', `${runKey.replace(/\//g, '_')}.npz`),
  };
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
    regime: run.regime.regime,
    label: run.label,
    budget: run.regime.budget ?? run.regime.beta ?? null,
    width: run.width,
    repetition: run.repetition,
    fold: run.fold,
    seed: run.seed,
    ...at,
  };
}
