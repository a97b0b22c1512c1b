/**
 * The poisoning attacks: one registry (./registry.ts, entries in ./catalog.ts, each attack in its own file), the
 * paper's three regimes among them (A, B, C are aliases), their projections and their defaults.
 */
import './catalog.js';
import { type DatasetDefaults, datasetDefaults } from '../data/defaults.js';
import { type Attack, createRegisteredAttack } from './registry.js';

export { adversarialPoisoning } from './availability/adversarial-poisoning.js';
export { arFilters, autoregressive, runArProcess } from './availability/autoregressive.js';
export { errorMinimizing } from './availability/error-minimizing.js';
export {
  onePixelShortcut,
  type ShortcutPixel,
  searchShortcutPixels,
} from './availability/one-pixel-shortcut.js';
export { noisePattern } from './backdoor/blended.js';
export { patchOrigin } from './backdoor/trigger.js';
export { changedMask } from './catalog.js';
export type { ProjectEvery } from './gradient-ascent.js';
export { l21Perturbation } from './l21-perturbation.js';
export { flipLabels, labelFlip } from './label-flip.js';
export { evaluateSurrogate, negatedLoss, perSampleLoss, type Reduction } from './objective.js';
export { type BStepRule, perSamplePerturbation } from './per-sample-perturbation.js';
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
  gradientRegimeOf,
  listAttacks,
  type ParamInfo,
  parseAttackParams,
  parseSettings,
  registerAttack,
  type Targets,
  type Trigger,
} from './registry.js';
export { shift, shiftAttack, shiftDirections } from './shift-attack.js';
export { bullseyePolytope } from './targeted/bullseye-polytope.js';
export { chooseTargets, targetsOf } from './targeted/common.js';
export { alignmentLoss, gradientMatching, twiceDifferentiableCE } from './targeted/gradient-matching.js';
export type { AttackReport, PoisonResult, Regime } from './types.js';

/** The original's attack settings per dataset (500 epochs, batch 128 in both). */
export type AttackDefaults = DatasetDefaults['attack'];

/** MNIST: C = 500, B = 1, eta = 0.1; CIFAR-10: C = 1000, B = 1, eta = 0.5 (the table in ../data/defaults.ts). */
export function attackDefaults(datasetSpec: string, expected?: string): AttackDefaults {
  return datasetDefaults(datasetSpec, expected).attack;
}

/**
 * Build any registered attack by name or alias (parameters validated, defaults filled in): `createAttack('badnets',
 * { rate: 0.05 })`, or the paper's regimes `createAttack('A', { budget: 500 })`, `createAttack('C', { beta: 0.3 })`.
 */
export function createAttack(name: string, params: Record<string, unknown> = {}): Attack {
  return createRegisteredAttack(name, params);
}
