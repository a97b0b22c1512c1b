/**
 * The checks of a sweep config that need the attack and defence registries: every name known, every parameter
 * valid for its entry, a surrogate where an attack needs one, and no two arms with one label. The config schema
 * (src/config) checks everything else and loads no attack or defence code, so that `report` and `results`,
 * which read configs, never load tfjs.
 */
import { findAttack, parseAttackParams } from '../attacks/index.js';
import {
  type AttackRef,
  type DefenceRef,
  type ExperimentConfig,
  parseConfig,
  regimeLabel,
} from '../config/schema.js';
import { findDefence, parseDefenceParams } from '../defences/index.js';
import { parseModelParams } from '../models/index.js';
import { PoisonlabError } from '../util/errors.js';

/** The label of a registry attack's runs: its label, or its registry name (an alias resolves to the name). */
export function attackLabel(a: AttackRef): string {
  return a.label ?? findAttack(a.name)?.name ?? a.name;
}

/** The label of a defence inside run labels ('badnets+spectral-signatures'). */
export function defenceLabel(d: DefenceRef): string {
  return d.label ?? findDefence(d.name)?.name ?? d.name;
}

/** Whether a registry attack takes ascent epochs (the gradient attacks: `--attack-epochs` reaches them). */
export function attackTakesEpochs(name: string): boolean {
  return findAttack(name)?.params.shape['epochs'] !== undefined;
}

/** Check the registry names, parameters and labels of a validated config; one line listing every problem. */
export function checkRegistryRefs(c: ExperimentConfig, source = 'config'): ExperimentConfig {
  const issues: string[] = [];
  c.attacks?.forEach((a, i) => {
    const entry = findAttack(a.name);
    if (!entry) {
      issues.push(`attacks.${i}.name: unknown attack '${a.name}' (see 'poisonlab attacks')`);
      return;
    }
    try {
      parseAttackParams(a.name, a.params ?? {});
    } catch (e) {
      issues.push(`attacks.${i}.params: ${(e as Error).message}`);
    }
    if (entry.needs.surrogate && !c.surrogate)
      issues.push(`surrogate: attack ${entry.name} needs a surrogate`);
  });
  c.defences?.forEach((d, i) => {
    if (!findDefence(d.name)) {
      issues.push(`defences.${i}.name: unknown defence '${d.name}' (see 'poisonlab defences')`);
      return;
    }
    try {
      parseDefenceParams(d.name, d.params ?? {});
    } catch (e) {
      issues.push(`defences.${i}.params: ${(e as Error).message}`);
    }
  });
  try {
    parseModelParams(c.model, c.modelParams ?? {});
  } catch (e) {
    issues.push(
      `${c.modelParams ? 'modelParams' : 'model'}: ${(e as Error).message} (see 'poisonlab models')`,
    );
  }
  const dLabels = (c.defences ?? []).map(defenceLabel);
  if (new Set(dLabels).size !== dLabels.length)
    issues.push('defences: a defence is listed twice (give it a label)');
  const all = [...c.regimes.map(regimeLabel), ...(c.attacks ?? []).map(attackLabel)];
  if (new Set(all).size !== all.length) issues.push('attacks: two attacks share a label (give one a label)');
  if (issues.length > 0) throw new PoisonlabError(`${source}: ${issues.join('; ')}`);
  return c;
}

/** parseConfig and the registry checks: a config ready to sweep. */
export function parseSweepConfig(raw: unknown, source = 'config'): ExperimentConfig {
  return checkRegistryRefs(parseConfig(raw, source), source);
}
