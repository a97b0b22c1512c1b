import type { Dataset } from '../data/dataset.js';

/** The paper's three threat models: A (l2,1 budget), B (per-sample l2 budget), C (label flipping). */
export type Regime = 'A' | 'B' | 'C';

/** What an attack spent and achieved. */
export interface AttackReport {
  /** The paper's regime, for the attacks that are one (A, B, C). */
  regime?: Regime;
  /** The registry name of the attack (e.g. 'l21-perturbation', 'badnets'); absent in reports of older files. */
  attack?: string;
  /** The attack's settings (budget, step, epochs, beta, seed, ...). */
  params: Record<string, number | string | boolean>;
  /** Samples in the dataset. */
  n: number;
  /** The budget in the regime's own unit: C*sqrt(n) for A, B for B, beta for C. */
  budget: number;
  /** sum_i ||delta_i||_2 and max_i ||delta_i||_2 of the perturbations (0 for C). */
  deltaNormSum: number;
  deltaNormMax: number;
  /** max_i ||delta_i||_inf (the l_inf attacks of issue 21; absent in the others' reports). */
  deltaLinfMax?: number;
  /**
   * Fraction of the budget spent (A and B): sum_i ||delta_i|| / (C sqrt(n)) for A, mean_i ||delta_i|| / B for B.
   * With the original's mean-reduced loss and step 0.1 the l2,1 budget may never bind; this says so.
   */
  budgetSpent?: number;
  /** Samples whose input or label changed. */
  samplesChanged: number;
  labelsFlipped: number;
  /** The surrogate's loss and accuracy on the clean and on the poisoned data (A and B). */
  surrogateBefore?: { loss: number; accuracy: number };
  surrogateAfter?: { loss: number; accuracy: number };
  /** Seconds the attack took, over all its pieces when it was resumed. */
  seconds: number;
  /** The epoch a resumed attack continued after (absent: it ran in one piece). */
  resumedEpoch?: number;
}

export interface PoisonResult {
  dataset: Dataset;
  /** ||delta_i||_2 per sample (zeros for label flipping). */
  deltaNorm: Float32Array;
  report: AttackReport;
}
