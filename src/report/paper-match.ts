import { type ExperimentConfig, hasValidation, regimeLabel } from '../config/schema.js';
import { PAPER_MNIST_FIGURE, type PaperRegime } from './paper-figure.js';

/** One of the figure's curves, drawn beside the poisonlab series it matches. */
export interface PaperCurve {
  /** The poisonlab series it stands beside (its colour): a regime label, or 'sweep · label' in overlays. */
  series: string;
  regime: PaperRegime;
  /** The figure's points: width and clean test accuracy as a fraction (the plots' unit). */
  points: { width: number; accuracy: number }[];
}

/**
 * Whether a sweep follows the paper's MNIST protocol, so that the figure may be drawn beside it: the built-in
 * MNIST with its ten classes, the paper's CNN, SGD at lr 0.1 in batches of 128, and a validation fold of a
 * 5-fold split. Cuts of it (fewer images, widths or repetitions: `laptop-mnist`, `quick`) count, and their
 * report says what the cut changes (./paper-note.ts). Read from the config, so no config field (and no config
 * hash) changes; the backdoor and theory presets on MNIST fail it (other model, batch or split).
 */
export function followsPaperProtocol(config: ExperimentConfig): boolean {
  return (
    config.dataset === 'mnist' &&
    config.classes === undefined &&
    config.model === 'mnist-cnn' &&
    config.training.lr === 0.1 &&
    config.training.batchSize === 128 &&
    hasValidation(config) &&
    config.folds?.k === 5
  );
}

/**
 * The figure's curve that the arm `label` of `config` reproduces: clean, or a regime at the figure's own budget
 * (A at C = 500, B at B = 1 by gradient attack, C at beta = 0.3); undefined for any other arm, a defended arm, a
 * registry attack, or a sweep off the paper's protocol.
 */
export function figureRegimeOf(config: ExperimentConfig, label: string): PaperRegime | undefined {
  if (!followsPaperProtocol(config)) return undefined;
  const spec = config.regimes.find((r) => regimeLabel(r) === label);
  if (!spec) return undefined;
  const budgets = PAPER_MNIST_FIGURE.budgets;
  switch (spec.regime) {
    case 'clean':
      return 'clean';
    case 'A':
      return spec.budget === budgets.A ? 'A' : undefined;
    case 'B':
      return spec.budget === budgets.B && spec.attack !== 'shift' ? 'B' : undefined;
    case 'C':
      return spec.beta === budgets.C ? 'C' : undefined;
  }
}

/** The figure's curve of `regime`, in the plots' unit (accuracy as a fraction), beside `series`. */
export function paperCurve(regime: PaperRegime, series: string): PaperCurve {
  const acc = PAPER_MNIST_FIGURE.accuracy[regime];
  return {
    series,
    regime,
    points: PAPER_MNIST_FIGURE.widths.map((width, i) => ({ width, accuracy: acc[i]! / 100 })),
  };
}

/**
 * The figure's curves beside the series of one sweep: one per series whose arm reproduces a regime of the
 * figure. `labelOf` maps a series to its arm's label (identity when the series are the labels).
 */
export function paperCurvesFor(
  config: ExperimentConfig,
  series: readonly string[],
  labelOf: (series: string) => string = (s) => s,
): PaperCurve[] {
  return [...new Set(series)].flatMap((s) => {
    const regime = figureRegimeOf(config, labelOf(s));
    return regime ? [paperCurve(regime, s)] : [];
  });
}
