import { join } from 'node:path';
import { sweepPaths } from '../experiments/plan.js';
import { SweepStore } from '../experiments/store.js';
import { writeFileAtomic } from '../util/atomic.js';
import { check } from '../util/errors.js';
import { aggregate, bestWidths, type CellStats } from './aggregate.js';
import { runsToCsv } from './csv.js';
import { reportHtml } from './html.js';
import { renderSvg, svgToPng, ucurveSpec } from './plot.js';
import { summaryMarkdown } from './summary.js';

export { aggregate, bestWidths, type CellStats } from './aggregate.js';

/** What `writeReport` produced. */
export interface ReportResult {
  dir: string;
  configHash: string;
  name: string;
  runs: number;
  cells: CellStats[];
  best: { label: string; width: number; mean: number; std: number }[];
  files: { csv: string; summary: string; svg: string; png: string; html: string };
}

/**
 * Write the report of the sweep folder `dir` (from its runs.sqlite) into the same folder, every file atomically:
 * results.csv (one row per run), summary.md (regime x width table, best width per regime), ucurve.svg and
 * ucurve.png (mean +- std accuracy against log width), report.html (all of it in one page).
 */
export async function writeReport(dir: string): Promise<ReportResult> {
  const store = SweepStore.open(sweepPaths(dir).db, { readonly: true });
  let stored: ReturnType<SweepStore['getConfig']>;
  let runs: ReturnType<SweepStore['runs']>;
  try {
    stored = store.getConfig();
    check(stored, `${store.path}: holds no sweep config (was the sweep started?)`);
    runs = store.runs(stored.hash);
  } finally {
    store.close();
  }
  check(runs.length > 0, `${dir}: no finished runs yet (run 'poisonlab sweep' first)`);
  const { config, hash } = stored;
  const cells = aggregate(runs);
  const files = {
    csv: join(dir, 'results.csv'),
    summary: join(dir, 'summary.md'),
    svg: join(dir, 'ucurve.svg'),
    png: join(dir, 'ucurve.png'),
    html: join(dir, 'report.html'),
  };
  const title = `${config.name}: ${config.dataset}, ${config.model} (${runs.length} runs)`;
  const svg = await renderSvg(ucurveSpec(cells, title));
  writeFileAtomic(files.csv, runsToCsv(runs));
  writeFileAtomic(files.summary, summaryMarkdown(config, hash, cells, runs.length));
  writeFileAtomic(files.svg, svg);
  writeFileAtomic(files.png, svgToPng(svg));
  writeFileAtomic(files.html, reportHtml(config, hash, cells, svg));
  return {
    dir,
    configHash: hash,
    name: config.name,
    runs: runs.length,
    cells,
    best: bestWidths(cells),
    files,
  };
}
