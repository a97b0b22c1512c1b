import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aggregate,
  aggregateExcess,
  bestWidths,
  type CellStats,
  type ExcessStats,
  excessRecords,
  runSizes,
  SweepStore,
  sweepPaths,
  type TheoryOverlay,
  withCleanTwinMetrics,
  withDefenceEffectiveness,
} from '../results/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { check } from '../util/errors.js';
import { arithmeticMarkdown } from './arithmetic.js';
import { runsToCsv } from './csv.js';
import { reportHtml } from './html.js';
import { defaultMetricPlots, metricsMarkdown, writeMetricPlot } from './metrics.js';
import { paperCurvesFor } from './paper-match.js';
import { comparePaper, paperNoteLines, paperParagraph } from './paper-note.js';
import { renderSvg, svgToPng, type UcurveExtras, ucurveSpec } from './plot.js';
import { type PoisonStats, poisonsMarkdown, summarizePoisons } from './poisons.js';
import { samplesizeMarkdown, samplesizeSpec } from './samplesize-plot.js';
import { type PaperRegimeOf, scalingMarkdown, scalingRows } from './scaling.js';
import { interiorMaxima, summaryMarkdown, verdictLines } from './summary.js';
import { theoryLayers, theoryMarkdown, theorySubtitle } from './theory-overlay.js';

import type { InteriorMaximum } from './verdict.js';

export { aggregate, bestWidths, type CellStats } from '../results/index.js';
export type { PaperRegimeOf } from './scaling.js';

/** What `writeReport` produced. */
export interface ReportResult {
  dir: string;
  configHash: string;
  name: string;
  runs: number;
  cells: CellStats[];
  best: { label: string; width: number; mean: number; std: number }[];
  /** Per regime: is there an interior maximum (the U), and by what margin. */
  interiorMaxima: InteriorMaximum[];
  /** The same as one line per regime, with the paper's figure at these widths on MNIST. */
  verdicts: string[];
  /** Per regime: the poisons' budget spent, norms and the surrogate's accuracy on them. */
  poisons: PoisonStats[];
  files: {
    csv: string;
    summary: string;
    svg: string;
    png: string;
    html: string;
    /** Sample-size sweeps: excess loss/error against n. */
    samplesizeSvg?: string;
    samplesizePng?: string;
    /** Configs with `theory` whose sweep stored the overlay: gamma and the window, as JSON. */
    theory?: string;
    /** Named metrics against width (attack-success rate, defence precision/recall, any --metric). */
    metrics?: Record<string, { svg: string; png: string }>;
  };
  /** Configs with `theory`: the estimated gamma and each regime's width window, as the sweep stored them. */
  theory?: TheoryOverlay;
  /** Sample-size sweeps: excess test loss and error per (regime, n). */
  samplesize?: ExcessStats[];
  /**
   * Sweeps on the paper's protocol (./paper-match.ts): the arms drawn beside the figure's dashed curves, and
   * what the plot shows and cannot show (its subtitle).
   */
  paper?: { drawn: string[]; lines: string[] };
}

/**
 * Write the report of the sweep folder `dir` (from its runs.sqlite) into the same folder, every file atomically:
 * results.csv (one row per run), summary.md (regime x width table, best width per regime), ucurve.svg and
 * ucurve.png (mean +- std accuracy against log width; for a sweep on the paper's protocol, the figure's curves
 * dashed beside the arms at its budgets), report.html (all of it in one page).
 * `metrics`: more named metrics to plot. `paperRegimeOf`: which registry attacks are the paper's regimes A and B
 * (the CLI passes the attack registry's answer), for the budget-scaling table of `attacks` entries.
 */
export async function writeReport(
  dir: string,
  opts: { metrics?: string[]; paperRegimeOf?: PaperRegimeOf } = {},
): Promise<ReportResult> {
  const store = SweepStore.open(sweepPaths(dir).db, { readonly: true });
  let stored: ReturnType<SweepStore['getConfig']>;
  let runs: ReturnType<SweepStore['runs']>;
  let poisonRecords: ReturnType<SweepStore['poisons']>;
  let theory: TheoryOverlay | undefined;
  try {
    stored = store.getConfig();
    check(stored, `${store.path}: holds no sweep config (was the sweep started?)`);
    runs = store.runs(stored.hash);
    poisonRecords = store.poisons(stored.hash);
    theory = stored.config.theory ? store.theory(stored.hash) : undefined;
  } finally {
    store.close();
  }
  check(runs.length > 0, `${dir}: no finished runs yet (run 'poisonlab sweep' first)`);
  const { config, hash } = stored;
  // A sample-size sweep's U-curve is drawn at its largest n (the other sizes are in samplesize.svg).
  const sizeOf = config.sizes ? runSizes(runs) : undefined;
  const maxSize = config.sizes ? Math.max(...config.sizes) : undefined;
  const ucurveRuns = sizeOf ? runs.filter((r) => sizeOf.get(r.runKey) === maxSize) : runs;
  const cells = aggregate(ucurveRuns.length > 0 ? ucurveRuns : runs);
  const files = {
    csv: join(dir, 'results.csv'),
    summary: join(dir, 'summary.md'),
    svg: join(dir, 'ucurve.svg'),
    png: join(dir, 'ucurve.png'),
    html: join(dir, 'report.html'),
  };
  const title =
    `${config.name}: ${config.dataset}, ${config.model} (${runs.length} runs` +
    `${maxSize !== undefined ? `; curve at n = ${maxSize}` : ''})`;
  let extras: UcurveExtras = {};
  let extraMarkdown = '';
  if (config.theory && !theory)
    extraMarkdown +=
      "\n## The theory beside it\n\nNot computed yet: the sweep computes the overlay (run 'poisonlab sweep' on this folder).\n";
  if (theory) {
    const widths = cells.map((c) => c.width);
    extras = {
      layers: theoryLayers(theory, Math.min(...widths), Math.max(...widths)),
      subtitle: theorySubtitle(theory),
    };
    extraMarkdown += `\n${theoryMarkdown(theory)}`;
  }
  const paperCurves = paperCurvesFor(
    config,
    cells.map((c) => c.label),
  );
  let paper: ReportResult['paper'];
  let paperText: string | undefined;
  if (paperCurves.length > 0) {
    const comparison = comparePaper(
      config,
      cells.map((c) => c.width),
    );
    paper = { drawn: paperCurves.map((c) => c.series), lines: paperNoteLines(comparison) };
    paperText = paperParagraph(config, comparison);
    extras = { ...extras, paper: paperCurves, subtitle: [...(extras.subtitle ?? []), ...paper.lines] };
    extraMarkdown += `\n## The paper beside it\n\n${paperText}\n`;
  }
  let samplesize: ExcessStats[] | undefined;
  const more: Partial<ReportResult['files']> = {};
  if (sizeOf) {
    samplesize = aggregateExcess(excessRecords(runs, sizeOf));
    if (samplesize.length > 0) {
      more.samplesizeSvg = join(dir, 'samplesize.svg');
      more.samplesizePng = join(dir, 'samplesize.png');
      const ssvg = await renderSvg(
        samplesizeSpec(
          samplesize,
          `${config.name}: regime A excess over clean against n (${runs.length} runs)`,
        ),
      );
      writeFileAtomic(more.samplesizeSvg, ssvg);
      writeFileAtomic(more.samplesizePng, svgToPng(ssvg));
      extraMarkdown += `\n${samplesizeMarkdown(samplesize)}`;
    }
  }
  if (theory) {
    more.theory = join(dir, 'theory.json');
    writeFileAtomic(more.theory, `${JSON.stringify(theory, null, 2)}\n`);
  }
  // derived, not stored: defended backdoor runs get BackdoorBench's DER against their undefended twins, poisoned
  // runs their cost in accuracy (targeted ones also their margin gain) against their clean twins
  const rated = withCleanTwinMetrics(withDefenceEffectiveness(ucurveRuns));
  const plotted = [...new Set([...defaultMetricPlots(rated), ...(opts.metrics ?? [])])];
  if (plotted.length > 0) {
    more.metrics = {};
    for (const m of plotted) {
      const { svg, png } = await writeMetricPlot(dir, rated, m, config.name);
      more.metrics[m] = { svg, png };
    }
  }
  extraMarkdown += metricsMarkdown(rated);
  extraMarkdown += scalingMarkdown(scalingRows(config, cells, opts.paperRegimeOf));
  extraMarkdown += arithmeticMarkdown(runs);
  const poisons = summarizePoisons(poisonRecords);
  extraMarkdown += poisons.length > 0 ? `\n${poisonsMarkdown(poisons)}` : '';
  const svg = await renderSvg(ucurveSpec(cells, title, extras));
  writeFileAtomic(files.csv, runsToCsv(runs));
  const sourceFile = sweepPaths(dir).dataSource;
  const dataSource = existsSync(sourceFile)
    ? (JSON.parse(readFileSync(sourceFile, 'utf8')) as { source?: string }).source
    : undefined;
  writeFileAtomic(
    files.summary,
    summaryMarkdown(config, hash, cells, runs.length, dataSource) + extraMarkdown,
  );
  writeFileAtomic(files.svg, svg);
  writeFileAtomic(files.png, svgToPng(svg));
  const verdicts = verdictLines(config, cells);
  writeFileAtomic(
    files.html,
    reportHtml(config, hash, cells, svg, { verdicts, poisons, ...(paperText && { paper: paperText }) }),
  );
  return {
    dir,
    configHash: hash,
    name: config.name,
    runs: runs.length,
    cells,
    best: bestWidths(cells),
    interiorMaxima: interiorMaxima(cells),
    verdicts,
    poisons,
    files: { ...files, ...more },
    ...(theory && { theory }),
    ...(samplesize && { samplesize }),
    ...(paper && { paper }),
  };
}
