/**
 * BackdoorBench's defence-effectiveness rating (Wu et al., BackdoorBench v2): for a defence against a backdoor,
 *     DER = [max(0, dASR) - max(0, dAcc) + 1] / 2,
 * with dASR = ASR(undefended) - ASR(defended), the attack-success rate the defence removed, and dAcc =
 * Acc(undefended) - Acc(defended), the clean accuracy it cost. DER is in [0, 1]; 0.5 means no effect (or an ASR
 * drop paid for with the same accuracy drop), 1 a backdoor removed at no cost.
 * In a sweep a defended run ('badnets+iss') is paired with its undefended twin ('badnets') of the same width,
 * repetition and fold, and gets the metric `defenceEffectivenessRating`.
 */
import type { RunRecord } from './records.js';

/** DER of one defended run against its undefended twin (accuracies and rates in [0, 1]). */
export function defenceEffectivenessRating(
  undefended: { accuracy: number; asr: number },
  defended: { accuracy: number; asr: number },
): number {
  const dAsr = undefended.asr - defended.asr;
  const dAcc = undefended.accuracy - defended.accuracy;
  return (Math.max(0, dAsr) - Math.max(0, dAcc) + 1) / 2;
}

/** The metric's name in a run's named metrics. */
export const DER_METRIC = 'defenceEffectivenessRating';

/**
 * The runs, each defended backdoor run with `defenceEffectivenessRating` added to its metrics when its undefended
 * twin exists and both hold an attack-success rate; other runs are returned as they are.
 */
export function withDefenceEffectiveness(runs: readonly RunRecord[]): RunRecord[] {
  const key = (label: string, r: RunRecord) => `${label}|${r.width}|${r.repetition}|${r.fold}`;
  const byKey = new Map(runs.map((r) => [key(r.label, r), r]));
  return runs.map((r) => {
    const plus = r.label.lastIndexOf('+');
    if (plus <= 0) return r;
    const twin = byKey.get(key(r.label.slice(0, plus), r));
    const asr = r.metrics?.['attackSuccessRate'];
    const twinAsr = twin?.metrics?.['attackSuccessRate'];
    if (!twin || typeof asr !== 'number' || typeof twinAsr !== 'number') return r;
    const der = defenceEffectivenessRating(
      { accuracy: twin.testAccuracy, asr: twinAsr },
      { accuracy: r.testAccuracy, asr },
    );
    return { ...r, metrics: { ...r.metrics, [DER_METRIC]: der } };
  });
}
