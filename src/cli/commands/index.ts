import type { Command } from 'commander';
import { register as attacks } from './attacks.js';
import { register as bench } from './bench.js';
import { register as data } from './data.js';
import { register as demo } from './demo.js';
import { register as info } from './info.js';
import { register as poison } from './poison.js';
import { register as report } from './report.js';
import { register as surrogate } from './surrogate.js';
import { register as sweep } from './sweep.js';
import { register as theory } from './theory.js';
import { register as train } from './train.js';

/** Every command group of the CLI, in the order `--help` lists them. */
export const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  demo,
  sweep,
  report,
  train,
  surrogate,
  poison,
  attacks,
  theory,
  data,
  info,
  bench,
];
