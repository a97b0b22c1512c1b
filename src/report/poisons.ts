import type { PoisonRecord } from '../results/index.js';

/** What the report says about one regime's poisons (one per repetition). */
export interface PoisonStats {
  /** Regime label, e.g. 'A-C500'. */
  label: string;
  count: number;
  /** Mean, min and max fraction of the budget spent (A: sum ||delta|| / (C sqrt n); B: mean ||delta|| / B). */
  budgetSpent?: { mean: number; min: number; max: number };
  /** Mean of sum ||delta_i|| and of max ||delta_i||. */
  deltaNormSum: number;
  deltaNormMax: number;
  labelsFlipped: number;
  /** The surrogate's mean accuracy on the clean and on the poisoned training set (A and B). */
  surrogateBefore?: number;
  surrogateAfter?: number;
  seconds: number;
}

interface StoredReport {
  deltaNormSum?: number;
  deltaNormMax?: number;
  labelsFlipped?: number;
  budgetSpent?: number;
  surrogateBefore?: { accuracy: number };
  surrogateAfter?: { accuracy: number };
  seconds?: number;
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** The poison key without its repetition (and size): 'A-C500-r3' -> 'A-C500'. */
export function poisonLabel(poisonKey: string): string {
  return poisonKey.replace(/(-n\d+)?-r\d+$/, '');
}

/** Summarise the stored poison reports per regime label (older reports without budgetSpent are fine). */
export function summarizePoisons(records: readonly PoisonRecord[]): PoisonStats[] {
  const groups = new Map<string, StoredReport[]>();
  for (const r of records) {
    const rep = (r.report ?? {}) as StoredReport;
    const label = poisonLabel(r.poisonKey);
    groups.set(label, [...(groups.get(label) ?? []), rep]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([label, reps]) => {
      const spent = reps.map((r) => r.budgetSpent).filter((v): v is number => typeof v === 'number');
      const before = reps.map((r) => r.surrogateBefore?.accuracy).filter((v): v is number => v !== undefined);
      const after = reps.map((r) => r.surrogateAfter?.accuracy).filter((v): v is number => v !== undefined);
      return {
        label,
        count: reps.length,
        ...(spent.length > 0 && {
          budgetSpent: { mean: mean(spent), min: Math.min(...spent), max: Math.max(...spent) },
        }),
        deltaNormSum: mean(reps.map((r) => r.deltaNormSum ?? 0)),
        deltaNormMax: mean(reps.map((r) => r.deltaNormMax ?? 0)),
        labelsFlipped: mean(reps.map((r) => r.labelsFlipped ?? 0)),
        ...(before.length > 0 && { surrogateBefore: mean(before) }),
        ...(after.length > 0 && { surrogateAfter: mean(after) }),
        seconds: mean(reps.map((r) => r.seconds ?? 0)),
      };
    });
}

const pct = (v: number) => (100 * v).toFixed(1);

/** Markdown table of summarizePoisons. */
export function poisonsMarkdown(stats: readonly PoisonStats[]): string {
  if (stats.length === 0) return '';
  const rows = stats.map((s) => {
    const spent = s.budgetSpent
      ? `${pct(s.budgetSpent.mean)} % (${pct(s.budgetSpent.min)}-${pct(s.budgetSpent.max)})`
      : '–';
    const sur =
      s.surrogateBefore !== undefined && s.surrogateAfter !== undefined
        ? `${pct(s.surrogateBefore)} -> ${pct(s.surrogateAfter)} %`
        : '–';
    return `| ${s.label} | ${s.count} | ${spent} | ${s.deltaNormSum.toFixed(1)} | ${s.deltaNormMax.toFixed(3)} | ${Math.round(s.labelsFlipped)} | ${sur} | ${s.seconds.toFixed(0)} |`;
  });
  return [
    '## Poisons',
    '',
    'Budget spent: A, sum ||delta_i|| / (C sqrt(n)); B, mean ||delta_i|| / B (mean over repetitions, min-max).',
    '',
    '| regime | poisons | budget spent | sum ‖δ‖ | max ‖δ‖ | labels flipped | surrogate accuracy clean -> poisoned | seconds |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
}
