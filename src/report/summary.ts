import { describeFolds, type ExperimentConfig } from '../experiments/config.js';
import { bestWidths, type CellStats, compareLabels } from './aggregate.js';

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

/** summary.md: what was run, the accuracy table and the best width per regime. */
export function summaryMarkdown(
  config: ExperimentConfig,
  hash: string,
  cells: readonly CellStats[],
  runs: number,
): string {
  const best = bestWidths(cells);
  const lines = [
    `# Width sweep: ${config.name}`,
    '',
    `Dataset \`${config.dataset}\`${config.limit ? ` (first ${config.limit} training images)` : ''}, ` +
      `model \`${config.model}\`, ${config.repetitions} repetition(s), ${describeFolds(config)}; ` +
      `${runs} finished run(s). Config hash \`${hash.slice(0, 12)}\`.`,
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
  ];
  return lines.join('\n');
}
