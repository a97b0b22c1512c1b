/**
 * The built-in attacks, registered once. Adding an attack: write its file (an `AttackEntry` made with
 * `defineAttack`, holding its parameters, defaults and implementation), add one line below, and a test. Nothing
 * else reads attack names.
 */
import { adversarialPoisoning } from './availability/adversarial-poisoning.js';
import { autoregressive } from './availability/autoregressive.js';
import { errorMinimizing } from './availability/error-minimizing.js';
import { onePixelShortcut } from './availability/one-pixel-shortcut.js';
import { badnets } from './backdoor/badnets.js';
import { blended } from './backdoor/blended.js';
import { labelConsistent } from './backdoor/label-consistent.js';
import { l21Perturbation } from './l21-perturbation.js';
import { labelFlip } from './label-flip.js';
import { perSamplePerturbation } from './per-sample-perturbation.js';
import { registerAttack } from './registry.js';
import { shift } from './shift-attack.js';
import { bullseyePolytope } from './targeted/bullseye-polytope.js';
import { gradientMatching } from './targeted/gradient-matching.js';

export { changedMask } from './changed-mask.js';

registerAttack(l21Perturbation);
registerAttack(perSamplePerturbation);
registerAttack(labelFlip);
registerAttack(shift);
registerAttack(badnets);
registerAttack(blended);
registerAttack(labelConsistent);
registerAttack(onePixelShortcut);
registerAttack(autoregressive);
registerAttack(errorMinimizing);
registerAttack(adversarialPoisoning);
registerAttack(gradientMatching);
registerAttack(bullseyePolytope);
