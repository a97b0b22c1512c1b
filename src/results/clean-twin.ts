/**
 * A poison's effect at one width, against the network that never saw it. Each poisoned run ('em/w100/r3/f0',
 * 'em+iss/w100/r3/f0') is paired with the clean run of the same width, repetition and fold ('clean/w100/r3/f0':
 * the same initialisation and minibatch order, no poison), so that the width question asks how the poison's
 * damage changes with width, not how accuracy does:
 *     poisonCost = testAccuracy(clean twin) - testAccuracy(run),
 * the clean test accuracy the poison (and the defence) took, as a fraction; and for a targeted attack, whose
 * success rate is 0 at every width at MNIST scale (docs/attacks.md) and whose raw margin mixes the attack with how
 * confident a network of that width is anyway,
 *     targetMarginGain = targetMargin(run) - targetMargin.<attack>(clean twin),
 * in nats of log p_adv - log max_{j != adv} p_j on the same targets: how far the poison moved them towards their
 * adversarial class (a clean run scores every targeted attack's targets of its repetition, experiments/job.ts).
 * Derived in the report, not stored.
 */
import type { RunRecord } from './records.js';

/** The derived metrics' names. */
export const POISON_COST_METRIC = 'poisonCost';
export const TARGET_GAIN_METRIC = 'targetMarginGain';

/** The clean arm's label, whose runs are the twins. */
const CLEAN = 'clean';

/**
 * The runs, each poisoned run with `poisonCost` (and, targeted, `targetMarginGain`) added where its clean twin
 * exists (and holds the reference margin of its attack); other runs are returned as they are.
 */
export function withCleanTwinMetrics(runs: readonly RunRecord[]): RunRecord[] {
  const clean = new Map(runs.filter((r) => r.label === CLEAN).map((r) => [r.runKey.slice(CLEAN.length), r]));
  return runs.map((r) => {
    if (r.label === CLEAN || !r.runKey.startsWith(r.label)) return r;
    const twin = clean.get(r.runKey.slice(r.label.length));
    if (!twin) return r;
    const added: Record<string, number> = { [POISON_COST_METRIC]: twin.testAccuracy - r.testAccuracy };
    const margin = r.metrics?.['targetMargin'];
    const reference = twin.metrics?.[`targetMargin.${r.label.split('+')[0]!}`];
    if (typeof margin === 'number' && typeof reference === 'number')
      added[TARGET_GAIN_METRIC] = margin - reference;
    return { ...r, metrics: { ...r.metrics, ...added } };
  });
}
