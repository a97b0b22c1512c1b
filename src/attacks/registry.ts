/**
 * The attack registry: every poisoning attack is one entry holding its name and aliases, a one-line description
 * with its paper, a zod schema of its parameters (defaults and units), what it needs, its kind and a factory.
 * The CLI (`poisonlab attacks`, `poisonlab poison --attack`), sweep configs (`attacks: [{name, params}]`) and
 * the library (`createAttack('badnets', {...})`) all read the entries of ./catalog.ts through this file, so
 * rules, defaults and checks exist once.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { PoisonlabError } from '../util/errors.js';
import { Registry, type RegistryEntry, zodIssues } from '../util/registry.js';
import type { AscentCheckpoint } from './ascent-state.js';
import type { PoisonResult } from './types.js';

/** availability: lowers clean accuracy; backdoor: a trigger flips predictions to a target; targeted: chosen test points. */
export type AttackKind = 'availability' | 'backdoor' | 'targeted';

/** What an attack needs besides the training set. */
export interface AttackNeeds {
  /** A frozen surrogate network whose gradients drive the poison. */
  surrogate: boolean;
  /** A binary task (two classes). */
  binary: boolean;
}

/** What the caller hands to `poison` beyond the data. */
export interface AttackContext {
  surrogate?: tf.LayersModel;
  onProgress?: (done: number, total: number) => void;
  /** Where a long attack saves its state and resumes from (the gradient attacks; others ignore it). */
  checkpoint?: AscentCheckpoint;
  /** The clean test set, from which a targeted attack picks its targets (`Attack.targets`); others ignore it. */
  test?: Dataset;
}

/**
 * A targeted attack's targets: test images and the class each should be classified as. `Attack.targets(test)` is a
 * deterministic function of the test set and the attack's parameters, so that the poison (made with ctx.test) and
 * the evaluation (which calls it again) agree on them without storing them.
 */
export interface Targets {
  images: Dataset;
  intended: Int32Array;
}

/** A backdoor's test-time trigger: `apply` stamps it on every sample; `target` is the class it should cause. */
export interface Trigger {
  readonly target: number;
  apply(data: Dataset): Dataset;
}

/** A poison plus which samples the attack touched (1 = poisoned), the ground truth for defences. */
export interface AttackOutcome extends PoisonResult {
  poisonMask: Uint8Array;
}

/** An attack built from validated parameters. */
export interface Attack {
  /** The registry name (never an alias). */
  readonly name: string;
  readonly kind: AttackKind;
  /** The parameters with defaults filled in. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Backdoors: the trigger that test images get when the attack-success rate is measured. */
  readonly trigger?: Trigger;
  /** Targeted attacks: the targets chosen from `test` (see Targets); the evaluation's `targetSuccessRate`. */
  targets?(test: Dataset): Targets;
  poison(data: Dataset, ctx?: AttackContext): Promise<AttackOutcome>;
}

/** One registry entry; `P` is the zod object schema of its parameters. */
export interface AttackEntry<P extends z.ZodObject = z.ZodObject> extends RegistryEntry<P> {
  /** The paper's regime this attack is (A, B, C), for the CLI's regime flags; absent for the others. */
  paperRegime?: 'A' | 'B' | 'C';
  kind: AttackKind;
  needs: AttackNeeds;
  create(params: z.output<P>): Attack;
}

/** Identity helper that keeps an entry's parameter type (so `create` sees typed params). */
export function defineAttack<P extends z.ZodObject>(entry: AttackEntry<P>): AttackEntry<P> {
  return entry;
}

const attacks = new Registry<AttackEntry>('attack');

/** Add an entry (./catalog.ts registers the built-in ones); a taken name or alias is an error. */
export function registerAttack<P extends z.ZodObject>(entry: AttackEntry<P>): void {
  attacks.register(entry as unknown as AttackEntry);
}

/** The entry called `name` (or with that alias; case-insensitive), if any. */
export function findAttack(name: string): AttackEntry | undefined {
  return attacks.find(name);
}

/**
 * The paper's gradient regime (A or B) that attack `name` (or alias) is, with its registry name: an entry whose
 * paperRegime is A or B and that ascends on a surrogate (B's deterministic shift is not one). The report's
 * budget-scaling table asks it, through the CLI, of a config's `attacks` entries.
 */
export function gradientRegimeOf(name: string): { regime: 'A' | 'B'; name: string } | undefined {
  const e = findAttack(name);
  if (!e?.needs.surrogate || (e.paperRegime !== 'A' && e.paperRegime !== 'B')) return undefined;
  return { regime: e.paperRegime, name: e.name };
}

/** Every registered entry, in registration order. */
export function listAttacks(): readonly AttackEntry[] {
  return attacks.list();
}

/** The entry called `name`; an unknown name is a one-line error listing the known ones. */
export function getAttackEntry(name: string): AttackEntry {
  return attacks.get(name);
}

export { zodIssues };

/** Validate `raw` against the entry's schema (defaults filled in); errors are one line naming the attack. */
export function parseAttackParams(name: string, raw: unknown = {}): Record<string, unknown> {
  return attacks.parseParams(name, raw);
}

/** Build attack `name` from raw parameters (validated, defaults filled in). */
export function createRegisteredAttack(name: string, raw: unknown = {}): Attack {
  const entry = getAttackEntry(name);
  return entry.create(parseAttackParams(entry.name, raw) as never);
}

/** A parameter as `poisonlab attacks` lists it. */
export interface ParamInfo {
  name: string;
  type: string;
  default?: unknown;
  description: string;
}

/** The parameters of a zod object schema, from its JSON schema (type, default, range, description). */
export function describeParams(schema: z.ZodObject): ParamInfo[] {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, Record<string, unknown>>;
  };
  return Object.entries(js.properties ?? {}).map(([name, p]) => {
    let type = Array.isArray(p['enum'])
      ? (p['enum'] as unknown[]).map((v) => JSON.stringify(v)).join('|')
      : String(p['type'] ?? 'any');
    const lo = p['minimum'] ?? p['exclusiveMinimum'];
    const rawHi = p['maximum'] ?? p['exclusiveMaximum'];
    const hi = typeof rawHi === 'number' && rawHi >= Number.MAX_SAFE_INTEGER ? undefined : rawHi;
    if (lo !== undefined || hi !== undefined)
      type += ` in ${p['exclusiveMinimum'] !== undefined ? '(' : '['}${lo ?? '-inf'}, ${hi ?? 'inf'}${p['exclusiveMaximum'] !== undefined || hi === undefined ? ')' : ']'}`;
    return {
      name,
      type,
      ...(p['default'] !== undefined && { default: p['default'] }),
      description: String(p['description'] ?? ''),
    };
  });
}

/**
 * Parse `key=value` settings (the CLI's `--set`) into raw params for `parseAttackParams`: a value that reads as
 * JSON (numbers, true/false, [..]) becomes that, anything else stays a string.
 */
export function parseSettings(settings: readonly string[], flag = '--set'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of settings) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new PoisonlabError(`${flag}: expected key=value, got '${s}'`);
    const key = s.slice(0, eq).trim();
    const text = s.slice(eq + 1).trim();
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    out[key] = value;
  }
  return out;
}
