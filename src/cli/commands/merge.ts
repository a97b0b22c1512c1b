import type { Command } from 'commander';
import { checkMergeComplete, mergeLine, mergeSweeps } from '../../experiments/merge.js';
import { checkOutputFolder } from '../../util/output-paths.js';
import { printJson, say } from '../output.js';

export function register(program: Command): void {
  program
    .command('merge')
    .description(
      'combine sweep folders of one config (shards, queue folders) into OUT; duplicated runs kept once',
    )
    .argument('<out>', 'the merged sweep folder (created when missing)')
    .argument('<dirs...>', 'sweep folders of the same config, e.g. shard-0 shard-1 ...')
    .option(
      '--complete',
      'fail (exit 1, naming them) when runs of the config are in no folder, e.g. after a failed shard',
      false,
    )
    .option('--json', 'print one JSON summary object', false)
    .action((out: string, dirs: string[], f: { json: boolean; complete: boolean }) => {
      checkOutputFolder(out, '<out>');
      const m = mergeSweeps(out, dirs);
      if (f.json) printJson(m);
      else say(false, mergeLine(m));
      if (f.complete) checkMergeComplete(m);
    });
}
