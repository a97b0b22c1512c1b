import { check } from '../util/errors.js';
import type { KeepBest } from './types.js';

/** The rule poisonlab always had: the highest validation accuracy, checked after every epoch. */
export const DEFAULT_KEEP_BEST: KeepBest = { by: 'accuracy', every: 'epoch' };

/** Validate a keepBest option; one-line errors. */
export function checkKeepBest(k: KeepBest): void {
  check(k.by === 'accuracy' || k.by === 'loss', `keepBest.by: expected accuracy or loss, got ${k.by}`);
  check(k.every === 'epoch' || k.every === 'step', `keepBest.every: expected epoch or step, got ${k.every}`);
}

/** The score before any validation: every real score is at least as good. */
export function worstScore(by: KeepBest['by']): number {
  return by === 'loss' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** The validation score the rule compares: the mean loss or the accuracy. */
export function scoreOf(by: KeepBest['by'], m: { loss: number; accuracy: number }): number {
  return by === 'loss' ? m.loss : m.accuracy;
}

/**
 * Whether `score` is at least as good as `best`. A tie counts as better, as in the original: mnist_ntk.py
 * keeps `if val_acc >= bestacc`, toy_gaussian_ntk.py (line 161) `if best_loss >= loss_val[-1]`.
 */
export function atLeastAsGood(by: KeepBest['by'], score: number, best: number): boolean {
  return by === 'loss' ? score <= best : score >= best;
}
