import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PoisonlabError } from './errors.js';

/**
 * Checks of where a command will write, made before it starts, so that a bad --out fails at once in one line
 * (not after minutes of work, and without a half-written folder): the path, or the folder it would be created
 * in, must be a folder this process may write in. `what` names the flag (`--out`).
 */

function kindOf(path: string): 'folder' | 'file' | undefined {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'file';
  } catch {
    return undefined;
  }
}

function mayWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest existing ancestor folder of a path that does not exist yet, checked to be a writable folder. */
function checkCreatableIn(path: string, label: string): void {
  let parent = dirname(resolve(path));
  while (kindOf(parent) === undefined && dirname(parent) !== parent) parent = dirname(parent);
  const kind = kindOf(parent);
  if (kind === 'file') throw new PoisonlabError(`${label}: expected a folder at ${parent}, found a file`);
  if (!mayWrite(parent))
    throw new PoisonlabError(
      `${label}: expected a folder you may write in at ${parent}, found it not writable`,
    );
}

/** `dir` is a writable folder, or can be created (its nearest existing ancestor is a writable folder). */
export function checkOutputFolder(dir: string, what: string): void {
  const label = `${what} ${dir}`;
  const kind = kindOf(dir);
  if (kind === 'file') throw new PoisonlabError(`${label}: expected a folder, found a file`);
  if (kind === 'folder') {
    if (!mayWrite(dir))
      throw new PoisonlabError(`${label}: expected a folder you may write in, found it not writable`);
    return;
  }
  checkCreatableIn(dir, label);
}

/** `file` is a file name that can be written: not a folder, in a folder that exists or can be created. */
export function checkOutputFile(file: string, what: string): void {
  const label = `${what} ${file}`;
  const kind = kindOf(file);
  if (kind === 'folder') throw new PoisonlabError(`${label}: expected a file name, found a folder`);
  checkCreatableIn(file, label);
}
