/**
 * The defence registry: a defence takes the poisoned training set (and, where it needs one, the penultimate-layer
 * representations of a network trained on it) and returns a filtered set plus a report of the removed indices
 * and, where the poison mask is known, the removal's precision and recall. Entries live in ./catalog.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { type Dataset, numClasses, numSamples } from '../data/dataset.js';
import type { BatchPerturbation } from '../train/types.js';
import { check } from '../util/errors.js';
import { Registry, type RegistryEntry } from '../util/registry.js';
import { byClass, centredRows } from './linalg.js';

/** What a defence gets. */
export interface DefenceInput {
  data: Dataset;
  /** Penultimate-layer representations, row-major [n, featureDim] (defences with needs.features only). */
  features?: Float32Array;
  featureDim?: number;
  /** 1 where the attack poisoned the sample, when known: only used for precision and recall. */
  poisonMask?: Uint8Array;
}

/** What a defence did. */
export interface DefenceReport {
  defence: string;
  params: Record<string, unknown>;
  n: number;
  /** Indices removed from the training set, increasing. */
  removed: number[];
  /** Poisoned among removed / removed (null when nothing was removed or the mask is unknown). */
  precision: number | null;
  /** Poisoned among removed / poisoned (null when nothing was poisoned or the mask is unknown). */
  recall: number | null;
  /** Samples whose input the defence changed (input-transforming defences). */
  transformed: number;
  seconds: number;
}

export interface DefenceOutcome {
  dataset: Dataset;
  report: DefenceReport;
  /** Input-transforming defences: the same transform for test inputs (evaluation applies it). */
  transformInputs?: (data: Dataset) => Dataset;
  /** Training-time defences (adversarial training): each minibatch's inputs as the SGD step sees them. */
  perturbTrainingBatch?: BatchPerturbation;
  /**
   * Test-time defences (STRIP): given the network trained on `dataset`, the clean test set and the attack's trigger
   * (backdoors), their own named metrics, which the evaluation adds to the run's.
   */
  inspectTrained?: (
    model: tf.LayersModel,
    clean: Dataset,
    trigger?: TestTrigger,
  ) => Record<string, number | null>;
}

/** A backdoor's test-time trigger as a defence sees it (the attack registry's Trigger, structurally). */
export interface TestTrigger {
  readonly target: number;
  apply(data: Dataset): Dataset;
}

/**
 * A defence that removes and transforms nothing before training and inspects the trained network instead (STRIP,
 * Neural Cleanse): the training set passes unchanged, with an empty report, and `inspect` gives the run its metrics.
 */
export function inspectionDefence(
  name: string,
  params: Record<string, unknown>,
  inspect: NonNullable<DefenceOutcome['inspectTrained']>,
): Defence {
  return {
    name,
    params,
    needs: { features: false },
    async apply({ data }) {
      const report: DefenceReport = {
        defence: name,
        params: { ...params },
        n: numSamples(data),
        removed: [],
        precision: null,
        recall: null,
        transformed: 0,
        seconds: 0,
      };
      return { dataset: data, report, inspectTrained: inspect };
    },
  };
}

export interface Defence {
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly needs: DefenceNeeds;
  apply(input: DefenceInput): Promise<DefenceOutcome>;
}

export interface DefenceNeeds {
  /** Penultimate representations of a network trained on the poisoned set. */
  features: boolean;
}

export interface DefenceEntry<P extends z.ZodObject = z.ZodObject> extends RegistryEntry<P> {
  needs: DefenceNeeds;
  create(params: z.output<P>): Defence;
}

export function defineDefence<P extends z.ZodObject>(entry: DefenceEntry<P>): DefenceEntry<P> {
  return entry;
}

const defences = new Registry<DefenceEntry>('defence');

export function registerDefence<P extends z.ZodObject>(entry: DefenceEntry<P>): void {
  defences.register(entry as unknown as DefenceEntry);
}

export function findDefence(name: string): DefenceEntry | undefined {
  return defences.find(name);
}

export function listDefences(): readonly DefenceEntry[] {
  return defences.list();
}

export function getDefenceEntry(name: string): DefenceEntry {
  return defences.get(name);
}

export function parseDefenceParams(name: string, raw: unknown = {}): Record<string, unknown> {
  return defences.parseParams(name, raw);
}

export function createDefence(name: string, raw: unknown = {}): Defence {
  const entry = getDefenceEntry(name);
  return entry.create(parseDefenceParams(entry.name, raw) as never);
}

/** Precision and recall of removing `removed` when `mask` marks the poisoned samples. */
export function removalScores(
  removed: readonly number[],
  mask: Uint8Array | undefined,
): { precision: number | null; recall: number | null } {
  if (!mask) return { precision: null, recall: null };
  let hit = 0;
  for (const i of removed) hit += mask[i]! ? 1 : 0;
  let poisoned = 0;
  for (let i = 0; i < mask.length; i++) poisoned += mask[i]! ? 1 : 0;
  return {
    precision: removed.length > 0 ? hit / removed.length : null,
    recall: poisoned > 0 ? hit / poisoned : null,
  };
}

/** The data without the samples at `removed` (sorted, distinct) and the report of that removal. */
export function removeSamples(
  name: string,
  params: Record<string, unknown>,
  input: DefenceInput,
  removed: number[],
  started: number,
): DefenceOutcome {
  const { data } = input;
  const n = data.y.length;
  const d = n > 0 ? data.x.length / n : 0;
  const drop = new Uint8Array(n);
  for (const i of removed) drop[i] = 1;
  const keep = n - removed.length;
  const x = new Float32Array(keep * d);
  const y = new Int32Array(keep);
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (drop[i]) continue;
    x.set(data.x.subarray(i * d, (i + 1) * d), j * d);
    y[j++] = data.y[i]!;
  }
  return {
    dataset: { ...data, name: `${data.name}-${name}`, x, y },
    report: {
      defence: name,
      params,
      n,
      removed,
      ...removalScores(removed, input.poisonMask),
      transformed: 0,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/**
 * The shape of the feature-based defences: per class (by training label), hand `pick` the class's indices and
 * their centred penultimate rows ([k, dim], row r is sample idx[r]); remove what it returns. Classes with fewer
 * than `minSize` samples are skipped. Missing features are a one-line error naming the defence.
 */
export function removePerClass(
  name: string,
  params: Record<string, unknown>,
  input: DefenceInput,
  minSize: number,
  pick: (idx: number[], rows: Float64Array, dim: number) => number[],
): DefenceOutcome {
  const started = performance.now();
  const { data, features, featureDim } = input;
  check(features && featureDim, `${name}: needs the penultimate representations of a trained network`);
  const dim = featureDim;
  const removed: number[] = [];
  for (const idx of byClass(data.y, numClasses(data))) {
    if (idx.length < minSize) continue;
    removed.push(...pick(idx, centredRows(features, dim, idx), dim));
  }
  removed.sort((a, b) => a - b);
  return removeSamples(name, params, input, removed, started);
}
