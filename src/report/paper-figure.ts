/** The curves of the figure: clean data and the regimes A, B, C. */
export type PaperRegime = 'clean' | 'A' | 'B' | 'C';

/**
 * The paper's MNIST figure (Wang, Mianjy, Arora 2021, Fig. "MNIST", ../shared/seed-artifacts/mnist_Ucurve.png):
 * mean clean test accuracy in percent against width, READ BY EYE from the PNG at the plotted widths (about
 * +-0.3 points of reading error). Settings behind it: full MNIST (48,000 train / 12,000 poisoned validation,
 * 10,000 clean test), A: C = 500, B: B = 1, C: beta = 0.3, the width-100 surrogate, lr 0.1, batch 128.
 */
export const PAPER_MNIST_FIGURE: {
  widths: readonly number[];
  accuracy: Readonly<Record<PaperRegime, readonly number[]>>;
  /** The budgets behind its curves: C of regime A, B of regime B, beta of regime C. */
  budgets: Readonly<{ A: number; B: number; C: number }>;
  /** MNIST's training images (each run trains on 4 of 5 folds of them). */
  trainingImages: number;
  /** Runs behind each plotted mean: 20 repetitions x 5 folds. */
  runsPerWidth: number;
} = {
  budgets: { A: 500, B: 1, C: 0.3 },
  trainingImages: 60000,
  runsPerWidth: 100,
  widths: [10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5],
  accuracy: {
    clean: [98.4, 98.4, 98.5, 98.6, 98.6, 98.6, 98.6, 98.7, 98.7, 98.6, 98.6, 98.4, 98.5],
    A: [76.4, 78.8, 81.8, 81.5, 82.8, 83.1, 83.0, 83.8, 85.5, 87.7, 89.4, 85.7, 81.8],
    B: [84.1, 85.6, 87.9, 88.1, 88.3, 88.3, 88.3, 88.9, 89.7, 91.2, 92.1, 89.9, 83.2],
    C: [96.9, 97.7, 97.6, 97.4, 97.2, 96.8, 96.3, 95.7, 94.6, 94.4, 94.4, 93.9, 93.9],
  },
};

/** The figure's curve for a regime ('clean', 'A', 'B', 'C'), or undefined for another attack. */
function curve(regime: string): readonly number[] | undefined {
  return (PAPER_MNIST_FIGURE.accuracy as Record<string, readonly number[]>)[regime];
}

/**
 * The figure's accuracy (percent) of `regime` at `width`, interpolated linearly in log(width) between plotted
 * widths; undefined outside 10 .. 1e5 or for a regime the figure does not have.
 */
export function paperAccuracyAt(regime: string, width: number): number | undefined {
  const acc = curve(regime);
  const ws = PAPER_MNIST_FIGURE.widths;
  if (!acc || width < ws[0]! || width > ws[ws.length - 1]!) return undefined;
  let i = 0;
  while (i < ws.length - 2 && width > ws[i + 1]!) i++;
  const t = (Math.log(width) - Math.log(ws[i]!)) / (Math.log(ws[i + 1]!) - Math.log(ws[i]!));
  return acc[i]! + t * (acc[i + 1]! - acc[i]!);
}

/** The figure's best width for a regime (where its curve peaks). */
export function paperBestWidth(regime: string): number | undefined {
  const acc = curve(regime);
  if (!acc) return undefined;
  let best = 0;
  acc.forEach((a, i) => {
    if (a > acc[best]!) best = i;
  });
  return PAPER_MNIST_FIGURE.widths[best];
}

/** e.g. `paper's figure (by eye): 76.4 / 83.0 / 89.4 % at m = 10 / 1000 / 20000; its maximum: m = 20000`. */
export function describePaperAt(regime: string, widths: readonly number[]): string | undefined {
  const vals = widths.map((w) => paperAccuracyAt(regime, w));
  if (vals.every((v) => v === undefined)) return undefined;
  const shown = vals.map((v) => (v === undefined ? '–' : v.toFixed(1))).join(' / ');
  return `paper's figure (read by eye): ${shown} % at m = ${widths.join(' / ')}; its maximum: m = ${paperBestWidth(regime)}`;
}
