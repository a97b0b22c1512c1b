import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { getPreset } from '../../experiments/presets.js';
import { checkSweepSucceeded } from '../../experiments/sweep.js';
import { writeReport } from '../../report/index.js';
import { checkNumber } from '../../util/errors.js';
import { note, parseNumberOption, printJson, say } from '../output.js';
import { verdictAndBudgetLines } from './report.js';
import { summaryLines, sweepCommand } from './sweep.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('the quick preset on the built-in MNIST end to end: surrogate, poisons, sweep, report')
    .option('--out <dir>', 'the sweep folder', './poisonlab-demo')
    .option(
      '--workers <n>',
      'worker processes (default: the number of cores)',
      parseNumberOption('--workers'),
    )
    .option('--json', 'print one JSON object', false)
    .action(async (f: { out: string; workers?: number; json: boolean }) => {
      const workers = checkNumber(f.workers ?? availableParallelism(), '--workers', {
        min: 1,
        integer: true,
      });
      const config = getPreset('quick');
      note(f.json, 'demo: the quick preset (a few minutes on 2 cores); interrupt and re-run to continue');
      const summary = await sweepCommand(config, { out: f.out, workers, force: false, json: f.json });
      checkSweepSucceeded(summary);
      const report = await writeReport(f.out);
      if (f.json) {
        printJson({ sweep: summary, report });
        return;
      }
      for (const l of summaryLines(summary)) say(false, l);
      for (const l of verdictAndBudgetLines(report)) say(false, l);
      say(false, `open ${resolve(report.files.html)}`);
    });
}
