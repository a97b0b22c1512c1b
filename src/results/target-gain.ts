/**
 * A targeted attack's pull on its targets, against the network that never saw the poison. The success rate of a
 * weak attack is 0 at every width (docs/attacks.md), and its raw margin mixes the attack with how confident a
 * network of that width is anyway. So each targeted run ('gm/w100/r3/f0') is paired with the clean run of the same
 * width, repetition and fold ('clean/w100/r3/f0': the same initialisation and minibatch order, the same targets,
 * scored as `targetMargin.gm`), and gets
 *     targetMarginGain = targetMargin(poisoned) - targetMargin(clean twin),
 * in nats of log p_adv - log max_{j != adv} p_j: how much the poison moved the target towards its adversarial
 * class. A defended run ('gm+iss') is paired with the clean run scored on the same attack's targets.
 */
import type { RunRecord } from './records.js';

/** The derived metric's name. */
export const TARGET_GAIN_METRIC = 'targetMarginGain';

/** The clean arm's label, whose runs hold the reference margins. */
const CLEAN = 'clean';

/**
 * The runs, each targeted run with `targetMarginGain` added where its clean twin holds the reference margin of
 * its attack; other runs are returned as they are.
 */
export function withTargetMarginGain(runs: readonly RunRecord[]): RunRecord[] {
  const clean = new Map(runs.filter((r) => r.label === CLEAN).map((r) => [r.runKey.slice(CLEAN.length), r]));
  return runs.map((r) => {
    const margin = r.metrics?.['targetMargin'];
    if (typeof margin !== 'number' || !r.runKey.startsWith(r.label)) return r;
    const attackLabel = r.label.split('+')[0]!;
    const reference = clean.get(r.runKey.slice(r.label.length))?.metrics?.[`targetMargin.${attackLabel}`];
    if (typeof reference !== 'number') return r;
    return { ...r, metrics: { ...r.metrics, [TARGET_GAIN_METRIC]: margin - reference } };
  });
}
