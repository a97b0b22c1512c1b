import type { RunRecord } from '../results/index.js';

/** Columns of results.csv, in order. */
export const CSV_COLUMNS: (keyof RunRecord)[] = [
  'runKey',
  'regime',
  'label',
  'budget',
  'width',
  'repetition',
  'fold',
  'seed',
  'testAccuracy',
  'testLoss',
  'bestValAccuracy',
  'epochs',
  'bestEpoch',
  'seconds',
  'samplesPerSecond',
  'startedAt',
  'finishedAt',
  'host',
  'arithmetic',
  'configHash',
  'metrics',
];

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** results.csv: a header and one row per finished run (RFC 4180 quoting). */
export function runsToCsv(runs: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of runs) lines.push(CSV_COLUMNS.map((c) => cell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}
