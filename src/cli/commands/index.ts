import type { Command } from 'commander';
import { register as attacks } from './attacks.js';
import { register as bench } from './bench.js';
import { register as convert } from './convert.js';
import { register as data } from './data.js';
import { register as demo } from './demo.js';
import { register as info } from './info.js';
import { register as merge } from './merge.js';
import { register as poison } from './poison.js';
import { register as report } from './report.js';
import { register as serve } from './serve.js';
import { register as slurm } from './slurm.js';
import { register as surrogate } from './surrogate.js';
import { register as sweep } from './sweep.js';
import { register as theory } from './theory.js';
import { register as train } from './train.js';
import { register as worker } from './worker.js';

/** Every command group of the CLI, in the order `--help` lists them. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  demo,
  sweep,
  worker,
  slurm,
  merge,
  report,
  serve,
  train,
  surrogate,
  poison,
  convert,
  attacks,
  theory,
  data,
  info,
  bench,
];
