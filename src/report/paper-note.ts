import { type ExperimentConfig, foldRuns, regimeLabel } from '../config/schema.js';
import { PAPER_MNIST_FIGURE } from './paper-figure.js';
import { figureRegimeOf } from './paper-match.js';

const count = (n: number) => n.toLocaleString('en-US');

/** What a sweep drawn beside the figure is, against what the figure is: images, runs per width, widths. */
export interface PaperComparison {
  /** Training images the curve was measured on (before the validation fold is split off). */
  images: number;
  runsPerWidth: number;
  widths: { min: number; max: number; count: number };
  /** Fewer training images than the paper: the per-sample budgets differ, so the numbers are not comparable. */
  cut: boolean;
}

/** The comparison of a sweep on the paper's protocol with the figure, at the widths it plotted. */
export function comparePaper(config: ExperimentConfig, widths: readonly number[]): PaperComparison {
  const full = PAPER_MNIST_FIGURE.trainingImages;
  // A sample-size sweep's width curve is drawn at its largest n.
  const images = Math.min(config.sizes ? Math.max(...config.sizes) : (config.limit ?? full), full);
  return {
    images,
    runsPerWidth: config.repetitions * foldRuns(config).length,
    widths: { min: Math.min(...widths), max: Math.max(...widths), count: new Set(widths).size },
    cut: images < full,
  };
}

/** The figure's side, e.g. "the paper's U (60,000 images, 100 runs per width, widths to 100,000)". */
export const PAPER_SIDE = `the paper's U (${count(PAPER_MNIST_FIGURE.trainingImages)} images, ${PAPER_MNIST_FIGURE.runsPerWidth} runs per width, widths to ${count(PAPER_MNIST_FIGURE.widths.at(-1)!)})`;

const runsText = (n: number) => `${n} run${n === 1 ? '' : 's'} per width`;

function widthsText(c: PaperComparison): string {
  const { min, max, count: n } = c.widths;
  return n === 1 ? `width ${count(min)}` : `${n} widths, ${count(min)} to ${count(max)}`;
}

/** The sweep's side, e.g. '3,000 training images, 2 runs per width, 3 widths, 10 to 10,000'. */
export function sweepSide(c: PaperComparison): string {
  return `${count(c.images)} training images, ${runsText(c.runsPerWidth)}, ${widthsText(c)}`;
}

/**
 * What the plot shows and cannot show, in two or three short lines for its subtitle: a cut of the training set
 * cannot show the paper's U and its numbers are not comparable with the dashed curves; the whole set can, with
 * its own number of runs.
 */
export function paperNoteLines(c: PaperComparison): string[] {
  if (c.cut)
    return [
      `Shows a cut: ${sweepSide(c)}.`,
      `Cannot show ${PAPER_SIDE}.`,
      "Dashed: the paper's figure, read by eye; not comparable with this cut's numbers.",
    ];
  return [
    `All ${count(c.images)} training images, ${runsText(c.runsPerWidth)} (the paper: ${PAPER_MNIST_FIGURE.runsPerWidth}), ${widthsText(c)}.`,
    "Dashed: the paper's figure, read by eye (about ±0.3 points).",
  ];
}

/** The arms of `config`'s regimes that the figure has at their budgets, and those it has not. */
export function figureArms(config: ExperimentConfig): { drawn: string[]; notInFigure: string[] } {
  const labels = config.regimes.map(regimeLabel);
  return {
    drawn: labels.filter((l) => figureRegimeOf(config, l) !== undefined),
    notInFigure: labels.filter((l) => figureRegimeOf(config, l) === undefined),
  };
}

/** The figure's own budgets, e.g. 'clean, A at C = 500, B at B = 1, C at beta = 0.3'. */
const figureBudgets = `clean, A at C = ${PAPER_MNIST_FIGURE.budgets.A}, B at B = ${PAPER_MNIST_FIGURE.budgets.B}, C at beta = ${PAPER_MNIST_FIGURE.budgets.C}`;

/**
 * The paragraph of summary.md and report.html on the dashed curves (plain text, no Markdown): what they are,
 * which arms have one, and what the comparison can and cannot say.
 */
export function paperParagraph(config: ExperimentConfig, c: PaperComparison): string {
  const { drawn, notInFigure } = figureArms(config);
  return [
    `The dashed curves are the paper's MNIST figure, read by eye from its PNG (about ±0.3 points;`,
    `src/report/paper-figure.ts), beside the arms run at the figure's own budgets (${figureBudgets}):`,
    `${drawn.join(', ')}.`,
    notInFigure.length > 0 ? `Not in the figure at these budgets: ${notInFigure.join(', ')}.` : '',
    // The subtitle's lines but its last ('Dashed: ...'), which the first sentence says already.
    ...paperNoteLines(c).slice(0, -1),
    c.cut ? "This cut's numbers are not comparable with the figure's." : '',
  ]
    .filter((l) => l !== '')
    .join(' ');
}
