import type { Command } from 'commander';
import { gradientRegimeOf } from '../../attacks/index.js';
import { type ReportResult, writeReport } from '../../report/index.js';
import { printJson, say } from '../output.js';

/** The report's per-regime verdict (interior maximum, the paper's figure) and each poison's budget spent. */
export function verdictAndBudgetLines(r: ReportResult): string[] {
  return [
    'interior maximum per regime (>= 2 SE of the difference on both sides, >= 3 reps):',
    ...r.verdicts.map((v) => `  ${v}`),
    ...r.poisons
      .filter((p) => p.budgetSpent)
      .map((p) => `  poison ${p.label}: ${(100 * p.budgetSpent!.mean).toFixed(1)}% of the budget spent`),
  ];
}

export function register(program: Command): void {
  program
    .command('report')
    .description('write results.csv, summary.md, ucurve.svg/png and report.html of a sweep folder')
    .argument('<dir>', 'the sweep folder (holding runs.sqlite)')
    .option(
      '--metric <name>',
      'also plot this named metric against width (repeatable), e.g. classAccuracy.3 or defenceRemoved',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--json', 'print one JSON object', false)
    .action(async (dir: string, f: { json: boolean; metric: string[] }) => {
      const r = await writeReport(dir, { metrics: f.metric, paperRegimeOf: gradientRegimeOf });
      if (f.json) {
        printJson(r);
        return;
      }
      say(false, `${r.runs} runs of ${r.name}; best width per regime:`);
      for (const b of r.best)
        say(
          false,
          `  ${b.label.padEnd(12)} m=${String(b.width).padEnd(7)} ${(100 * b.mean).toFixed(2)}% ± ${(100 * b.std).toFixed(2)}`,
        );
      for (const l of verdictAndBudgetLines(r)) say(false, l);
      say(false, `report: ${r.files.html}`);
    });
}
