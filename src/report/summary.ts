import { describeFolds, type ExperimentConfig } from '../config/schema.js';
import { bestWidths, type CellStats, compareLabels } from '../results/index.js';
import { describePaperAt } from './paper-figure.js';
import { describeInteriorMaximum, type InteriorMaximum, interiorMaximum } from './verdict.js';

const pct = (v: number) => (100 * v).toFixed(2);

/** The regime x width table of mean +- std (count) clean test accuracy, in percent, as Markdown rows. */
export function accuracyTable(cells: readonly CellStats[]): string {
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const labels = [...new Set(cells.map((c) => c.label))].sort(compareLabels);
  const byKey = new Map(cells.map((c) => [`${c.label}|${c.width}`, c]));
  const head = `| regime | ${widths.map((w) => `m = ${w}`).join(' | ')} |`;
  const rule = `|---|${widths.map(() => '---:').join('|')}|`;
  const rows = labels.map((l) => {
    const vals = widths.map((w) => {
      const c = byKey.get(`${l}|${w}`);
      return c ? `${pct(c.mean)} ± ${pct(c.std)} (${c.n})` : '–';
    });
    return `| ${l} | ${vals.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

/** The interior-maximum test of every regime but clean, in label order. */
export function interiorMaxima(cells: readonly CellStats[]): InteriorMaximum[] {
  const labels = [...new Set(cells.map((c) => c.label))].filter((l) => l !== 'clean').sort(compareLabels);
  return labels.map((l) => interiorMaximum(l, cells)).filter((v): v is InteriorMaximum => v !== undefined);
}

/**
 * One line per regime: whether an interior maximum is seen and by what margin, and (MNIST sweeps) what the
 * paper's figure shows at the same widths.
 */
export function verdictLines(config: ExperimentConfig, cells: readonly CellStats[]): string[] {
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const mnist = config.dataset === 'mnist';
  return interiorMaxima(cells).map((v) => {
    const regime = cells.find((c) => c.label === v.label)?.regime ?? '';
    const paper = mnist ? describePaperAt(regime, widths) : undefined;
    return `${describeInteriorMaximum(v)}${paper ? ` | ${paper}` : ''}`;
  });
}

/** summary.md: what was run, the accuracy table and the best width per regime. */
export function summaryMarkdown(
  config: ExperimentConfig,
  hash: string,
  cells: readonly CellStats[],
  runs: number,
  /** The copy of the data the sweep read (data-source.json), named when known. */
  dataSource?: string,
): string {
  const best = bestWidths(cells);
  const lines = [
    `# Width sweep: ${config.name}`,
    '',
    `Dataset \`${config.dataset}\`${config.limit ? ` (first ${config.limit} training images)` : ''}, ` +
      `model \`${config.model}\`, ${config.repetitions} repetition(s), ${describeFolds(config)}; ` +
      `${runs} finished run(s). Config hash \`${hash.slice(0, 12)}\`.`,
    ...(dataSource !== undefined && dataSource !== config.dataset ? ['', `Data source: ${dataSource}.`] : []),
    '',
    'Clean test accuracy in percent: mean ± std (runs), of the best-validation weights.',
    '',
    accuracyTable(cells),
    '',
    '## Best width per regime',
    '',
    '| regime | best width | accuracy |',
    '|---|---:|---:|',
    ...best.map((b) => `| ${b.label} | ${b.width} | ${pct(b.mean)} ± ${pct(b.std)} |`),
    '',
    '## Interior maximum per regime',
    '',
    'Seen when the best width beats both the narrowest and the widest by at least two standard errors of the',
    'difference of means, with at least 3 repetitions.',
    '',
    ...verdictLines(config, cells).map((l) => `- ${l}`),
    '',
  ];
  return lines.join('\n');
}
