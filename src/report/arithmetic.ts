/**
 * Which arithmetic a sweep's runs were computed with (RunRecord.arithmetic: backend, matrix product, threads). A seed
 * fixes a run's numbers for one arithmetic only, so a sweep merged from machines with different products (OpenBLAS
 * installed on one, not on the other) is said to be so.
 */
import type { RunRecord } from '../results/index.js';

/** Markdown: one line per arithmetic with its run count; empty when no run recorded one. */
export function arithmeticMarkdown(runs: readonly RunRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of runs) {
    const a = r.arithmetic ?? 'not recorded (stored before runs recorded it)';
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  if (!runs.some((r) => r.arithmetic !== undefined)) return '';
  const lines = [...counts].sort((a, b) => b[1] - a[1]).map(([a, n]) => `- ${a}: ${n} run(s)`);
  const mixed =
    counts.size > 1
      ? [
          '',
          'The runs were not all computed with one arithmetic: equal seeds give equal numbers only within one',
          '(another matrix product sums in another order), so reruns across these lines may differ in the last digits',
          'and, through training, by more.',
        ]
      : [];
  return `\n## Arithmetic\n\n${lines.join('\n')}\n${mixed.join('\n')}${mixed.length ? '\n' : ''}`;
}
