import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { gradientRegimeOf } from '../../attacks/index.js';
import type { ExperimentConfig } from '../../config/schema.js';
import { getPreset } from '../../experiments/presets.js';
import { checkSweepSucceeded } from '../../experiments/sweep.js';
import { readNpz } from '../../io/npz.js';
import { writeReport } from '../../report/index.js';
import { comparePaper, PAPER_SIDE, sweepSide } from '../../report/paper-note.js';
import { sweepPaths } from '../../results/index.js';
import { checkOutputFolder } from '../../util/output-paths.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { verdictAndBudgetLines } from './report.js';
import { summaryLines, sweepCommand } from './sweep.js';

/** The demo's trained surrogate's clean test accuracy, from its checkpoint's metadata. */
function surrogateAccuracy(out: string): { accuracy: number; n: number } | undefined {
  const path = sweepPaths(out).surrogate;
  if (!existsSync(path)) return undefined;
  const meta = readNpz(path).meta as
    | { surrogate?: { testAccuracy?: number; testSamples?: number } }
    | undefined;
  const accuracy = meta?.surrogate?.testAccuracy;
  const n = meta?.surrogate?.testSamples;
  return typeof accuracy === 'number' && typeof n === 'number' ? { accuracy, n } : undefined;
}

/** What the demo shows and what it cannot show, in two plain lines. */
export function demoScopeLines(config: ExperimentConfig): string[] {
  const cut = comparePaper(config, config.widths);
  return [
    `what the demo shows: the pipeline end to end on a cut of the paper's MNIST protocol (${sweepSide(cut)})`,
    `what it cannot show: ${PAPER_SIDE}; its numbers are not comparable with the figure's, dashed in ucurve.png`,
  ];
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('the quick preset on the built-in MNIST end to end: surrogate, poisons, sweep, report')
    .option('--out <dir>', 'the sweep folder', './poisonlab-demo')
    .option(
      '--workers <n>',
      'worker processes (default: the number of cores)',
      parseNumberOption('--workers', { min: 1, integer: true }),
    )
    .option('--json', 'print one JSON object', false)
    .action(async (f: { out: string; workers?: number; json: boolean }) => {
      checkOutputFolder(f.out, '--out');
      const workers = f.workers ?? availableParallelism();
      const config = getPreset('quick');
      note(f.json, 'demo: the quick preset (a few minutes on 2 cores); interrupt and re-run to continue');
      const summary = await sweepCommand(config, { out: f.out, workers, force: false, json: f.json });
      checkSweepSucceeded(summary);
      const report = await writeReport(f.out, { paperRegimeOf: gradientRegimeOf });
      if (f.json) {
        printJson({ sweep: summary, report });
        return;
      }
      for (const l of summaryLines(summary)) say(false, l);
      for (const l of demoScopeLines(config)) say(false, l);
      const sur = surrogateAccuracy(f.out);
      if (sur !== undefined)
        say(
          false,
          `surrogate (trained here): ${(100 * sur.accuracy).toFixed(2)}% on the ${sur.n} test images`,
        );
      for (const l of verdictAndBudgetLines(report)) say(false, l);
      say(false, `open ${resolve(report.files.html)}`);
    });
}
