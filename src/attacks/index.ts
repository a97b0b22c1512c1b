/**
 * The poisoning attacks: the registry (./registry.ts, entries in ./catalog.ts), the paper's three regimes, their
 * projections and their defaults.
 */
import './catalog.js';
import { type DatasetDefaults, datasetDefaults } from '../data/defaults.js';
import { check } from '../util/errors.js';
import { L21PoisonAttack } from './l21-attack.js';
import { LabelFlipAttack } from './label-flip-attack.js';
import { PerSamplePoisonAttack } from './per-sample-attack.js';
import type { AscentAttackOptions } from './perturbation-attack.js';
import { type Attack, createRegisteredAttack } from './registry.js';
import type { PoisoningAttack, Regime } from './types.js';

export { noisePattern } from './backdoor/blended.js';
export { patchOrigin } from './backdoor/trigger.js';
export { changedMask } from './catalog.js';
export type { ProjectEvery } from './gradient-ascent.js';
export { L21PoisonAttack, type L21PoisonOptions } from './l21-attack.js';
export { LabelFlipAttack, type LabelFlipOptions } from './label-flip-attack.js';
export { evaluateSurrogate, negatedLoss, perSampleLoss, type Reduction } from './objective.js';
export { PerSamplePoisonAttack, type PerSamplePoisonOptions } from './per-sample-attack.js';
export type { AscentAttackOptions } from './perturbation-attack.js';
export {
  l21Threshold,
  projectL2BallPerSample,
  projectL2BallTensor,
  projectL21Ball,
  projectL21BallTensor,
  rowNormsOf,
} from './projection.js';
export {
  type Attack,
  type AttackContext,
  type AttackEntry,
  type AttackKind,
  type AttackNeeds,
  type AttackOutcome,
  createRegisteredAttack,
  defineAttack,
  describeParams,
  findAttack,
  getAttackEntry,
  listAttacks,
  type ParamInfo,
  parseAttackParams,
  parseSettings,
  registerAttack,
  type Trigger,
} from './registry.js';
export { shiftAttack, shiftDirections } from './shift-attack.js';
export type { AttackReport, PoisoningAttack, PoisonResult, Regime } from './types.js';

/** The original's attack settings per dataset (500 epochs, batch 128 in both). */
export type AttackDefaults = DatasetDefaults['attack'];

/** MNIST: C = 500, B = 1, eta = 0.1; CIFAR-10: C = 1000, B = 1, eta = 0.5 (the table in ../data/defaults.ts). */
export function attackDefaults(datasetSpec: string): AttackDefaults {
  return datasetDefaults(datasetSpec).attack;
}

/** Everything needed to build any of the three attacks. */
export interface AttackSpec extends Omit<AscentAttackOptions, 'epochs' | 'step'> {
  regime: Regime;
  /** Attack epochs and step size eta (regimes A and B only). */
  epochs?: number;
  step?: number;
  /** C for regime A, B for regime B. */
  budget?: number;
  /** Flip probability for regime C. */
  beta?: number;
}

function ascentSteps(spec: AttackSpec): { epochs: number; step: number } {
  check(spec.epochs !== undefined, `regime ${spec.regime}: the number of attack epochs is required`);
  check(spec.step !== undefined, `regime ${spec.regime}: the step size eta is required`);
  return { epochs: spec.epochs, step: spec.step };
}

/**
 * Build an attack. `createAttack('badnets', { rate: 0.05 })` builds any registered attack by name or alias
 * (parameters validated, defaults filled in); `createAttack({ regime, ... })` builds the paper's regime A, B or C
 * as before (a missing budget or beta is a one-line error).
 */
export function createAttack(name: string, params?: Record<string, unknown>): Attack;
export function createAttack(spec: AttackSpec): PoisoningAttack;
export function createAttack(
  spec: AttackSpec | string,
  params?: Record<string, unknown>,
): PoisoningAttack | Attack {
  if (typeof spec === 'string') return createRegisteredAttack(spec, params ?? {});
  switch (spec.regime) {
    case 'A':
      check(spec.budget !== undefined, 'regime A: the budget C is required');
      return new L21PoisonAttack({ ...spec, ...ascentSteps(spec), C: spec.budget });
    case 'B':
      check(spec.budget !== undefined, 'regime B: the budget B is required');
      return new PerSamplePoisonAttack({ ...spec, ...ascentSteps(spec), B: spec.budget });
    case 'C':
      check(spec.beta !== undefined, 'regime C: the flip probability beta is required');
      return new LabelFlipAttack({ beta: spec.beta, seed: spec.seed });
    default:
      check(false, `attack regime: expected A, B or C, got '${spec.regime as string}'`);
  }
}
