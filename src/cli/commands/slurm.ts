import { resolve } from 'node:path';
import type { Command } from 'commander';
import { presetNames } from '../../experiments/presets.js';
import { type SlurmOptions, slurmScripts, submitSlurm } from '../../experiments/slurm.js';
import { checkOutputFolder } from '../../util/output-paths.js';
import { parseNumberOption, printJson, say } from '../output.js';
import { configFromFlags, configOverrideOptions } from './sweep.js';

interface SlurmFlags {
  preset?: string;
  config?: string;
  dir: string;
  tasks: number;
  cache?: string;
  partition?: string;
  time?: string;
  cpusPerTask: number;
  mem?: string;
  throttle?: number;
  sbatch: string[];
  signalSeconds: number;
  mergeTime?: string;
  dryRun: boolean;
  json: boolean;
  widths?: string;
  reps?: number;
  limit?: number;
  testLimit?: number;
  maxEpochs?: number;
  patience?: number;
  attackEpochs?: number;
  folds?: string;
  dataset?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  const cmd = program
    .command('slurm')
    .description(
      'submit a sweep to Slurm: an array job (one shard per task, requeue-safe) and a merge job after it',
    )
    .option('--preset <name>', `a built-in sweep: ${presetNames().join(', ')}`)
    .option('--config <file>', 'a sweep config (.json, .yaml)')
    .requiredOption(
      '--dir <dir>',
      'the sweep folder every node mounts: sweep.json, slurm/ (scripts, logs), shard-<i>/, merged/',
    )
    .requiredOption(
      '--tasks <n>',
      'array tasks, one shard of the runs each',
      parseNumberOption('--tasks', { min: 1, integer: true }),
    )
    .option(
      '--cache <dir>',
      'the shared artifact cache (surrogates, poisons, checkpoints; default DIR/cache)',
    )
    .option('--partition <name>', "sbatch's --partition")
    .option('--time <limit>', "sbatch's --time of each array task, e.g. 2-00:00:00")
    .option(
      '--cpus-per-task <n>',
      "sbatch's --cpus-per-task: one sweep worker per CPU",
      parseNumberOption('--cpus-per-task', { min: 1, integer: true }),
      1,
    )
    .option('--mem <size>', "sbatch's --mem of each array task, e.g. 16G")
    .option(
      '--throttle <k>',
      'at most k array tasks at once (--array=0-N%k)',
      parseNumberOption('--throttle', { min: 1, integer: true }),
    )
    .option(
      '--sbatch <option>',
      'an extra #SBATCH line for both jobs, e.g. --account=lab (repeatable)',
      collect,
      [],
    )
    .option(
      '--signal-seconds <s>',
      'seconds before the time limit that a task checkpoints, exits and requeues itself (--signal=B:USR1@s)',
      parseNumberOption('--signal-seconds', { min: 1, integer: true }),
      120,
    )
    .option('--merge-time <limit>', "sbatch's --time of the merge job")
    .option('--dry-run', 'print the two scripts; write and submit nothing', false);
  configOverrideOptions(cmd)
    .option('--json', 'print one JSON object (job ids, paths)', false)
    .action((f: SlurmFlags) => {
      checkOutputFolder(f.dir, '--dir');
      if (f.cache !== undefined) checkOutputFolder(f.cache, '--cache');
      const config = configFromFlags(f);
      const o: SlurmOptions = {
        dir: f.dir,
        tasks: f.tasks,
        cpusPerTask: f.cpusPerTask,
        signalSeconds: f.signalSeconds,
        sbatch: f.sbatch,
        // The nodes run this very poisonlab: this node binary, its flags (e.g. tsx), this CLI's main file.
        command: [process.execPath, ...process.execArgv, resolve(process.argv[1]!)],
        workdir: process.cwd(),
        ...(f.cache !== undefined && { cache: f.cache }),
        ...(f.partition !== undefined && { partition: f.partition }),
        ...(f.time !== undefined && { time: f.time }),
        ...(f.mem !== undefined && { mem: f.mem }),
        ...(f.throttle !== undefined && { throttle: f.throttle }),
        ...(f.mergeTime !== undefined && { mergeTime: f.mergeTime }),
      };
      const scripts = slurmScripts(config, o);
      if (f.dryRun) {
        if (f.json)
          printJson({ array: scripts.array, merge: scripts.merge, config: JSON.parse(scripts.configJson) });
        else
          say(
            false,
            [
              `# ${scripts.arrayPath}`,
              scripts.array,
              `# ${scripts.mergePath}`,
              scripts.merge,
              `# (dry run: nothing written or submitted; ${scripts.runs} runs in ${f.tasks} tasks)`,
            ].join('\n'),
          );
        return;
      }
      const s = submitSlurm(config, scripts);
      if (f.json) {
        printJson({
          arrayJob: s.arrayJob,
          mergeJob: s.mergeJob,
          dir: scripts.dir,
          runs: scripts.runs,
          tasks: f.tasks,
        });
        return;
      }
      const shards = `${scripts.dir}/shard-*`;
      say(
        false,
        [
          `submitted sweep ${config.name}: ${scripts.runs} runs in ${f.tasks} array tasks, job ${s.arrayJob}; merge job ${s.mergeJob} runs after it`,
          `  follow:   squeue -j ${s.arrayJob},${s.mergeJob}`,
          `  history:  sacct -j ${s.arrayJob},${s.mergeJob} --format=JobID,State,Elapsed,ExitCode,NodeList`,
          `  logs:     ${scripts.dir}/slurm/logs/`,
          `  live:     poisonlab serve ${shards}`,
          `  result:   ${scripts.dir}/merged (then: poisonlab report ${scripts.dir}/merged)`,
        ].join('\n'),
      );
    });
}
