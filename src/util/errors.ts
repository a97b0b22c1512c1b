import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * An error caused by the user's input or environment (bad file, impossible budget, ...).
 * The CLI prints its message as one line, with no stack trace. The message must name the
 * thing that is wrong and what was expected, e.g.
 * `mnist train images (train-images-idx3-ubyte): expected magic 2051, found 1234`.
 */
export class PoisonlabError extends Error {
  override readonly name = 'PoisonlabError';
}

/** Throw a PoisonlabError unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new PoisonlabError(typeof message === 'string' ? message : message());
}

/** Check that a number is finite (and optionally within [min, max]); `what` names it in the error. */
export function checkNumber(
  value: number,
  what: string,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  check(Number.isFinite(value), `${what}: expected a finite number, got ${value}`);
  if (opts.integer) check(Number.isInteger(value), `${what}: expected an integer, got ${value}`);
  if (opts.min !== undefined) check(value >= opts.min, `${what}: expected >= ${opts.min}, got ${value}`);
  if (opts.max !== undefined) check(value <= opts.max, `${what}: expected <= ${opts.max}, got ${value}`);
  return value;
}

/** What a failed call of each kind was trying to do to its path, for EACCES / EPERM. */
const SYSCALL_VERBS: Record<string, string> = {
  open: 'open it',
  read: 'read it',
  write: 'write it',
  mkdir: 'create it',
  scandir: 'list it',
  opendir: 'list it',
  unlink: 'remove it',
  rmdir: 'remove it',
  rm: 'remove it',
  rename: 'rename it',
  copyfile: 'copy it',
  chmod: 'change its mode',
  utime: 'change its times',
  symlink: 'create it',
  link: 'create it',
};

/** The nearest ancestor of `path` (or `path` itself) that exists, with what it is. */
function nearestExisting(path: string): { path: string; isDirectory: boolean } | undefined {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      return { path: p, isDirectory: statSync(p).isDirectory() };
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

/** What is at `path` now: 'a file', 'a folder' or 'nothing'. */
function whatIsAt(path: string): string {
  try {
    return statSync(path).isDirectory() ? 'a folder' : 'a file';
  } catch {
    return 'nothing';
  }
}

/**
 * Node's file-system failures (EEXIST, ENOTDIR, EISDIR, ENOENT, EACCES, EPERM, ENOSPC, EROFS, ...) as the one-line
 * form, naming the path and what was expected there; undefined for any other error. `path` names the file when
 * the error does not (a failed read or write of an open file carries no path); `expected` says what the path
 * should be ('a .npz file', 'a sweep folder'), where the caller knows.
 */
export function fileSystemError(
  e: unknown,
  opts: { path?: string; expected?: string } = {},
): PoisonlabError | undefined {
  const err = e as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  const code = err?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return undefined;
  const path = opts.path ?? err!.path ?? err!.syscall ?? 'file system';
  const verb = SYSCALL_VERBS[err!.syscall ?? ''] ?? 'access it';
  const found = (text: string) => new PoisonlabError(`${path}: expected ${text} (${code})`);
  switch (code) {
    case 'EEXIST': {
      const there = whatIsAt(path);
      return there === 'a folder'
        ? found(`${opts.expected ?? 'a name not yet taken'}, found an existing folder`)
        : found(`${opts.expected ?? 'a folder'}, found ${there}`);
    }
    case 'ENOTDIR': {
      // Some folder on the way is a file: name it.
      const on = nearestExisting(path);
      return on && !on.isDirectory && on.path !== resolve(path)
        ? found(`a folder at ${on.path}, found a file`)
        : found(`${opts.expected ?? 'a folder'}, found a file`);
    }
    case 'EISDIR':
      return found(`${opts.expected ?? 'a file'}, found a folder`);
    case 'ENOENT':
      return found(`${opts.expected ?? 'an existing file or folder'}, found nothing there`);
    case 'EACCES':
    case 'EPERM':
      return found(`permission to ${verb}, found it denied`);
    case 'ENOSPC':
      return found('free space on its disk, found the disk full');
    case 'EDQUOT':
      return found('free space within your disk quota, found the quota used up');
    case 'EROFS':
      return found('a writable file system, found it read-only');
    case 'ENAMETOOLONG':
      return found('a shorter path, found the name too long');
    case 'ELOOP':
      return found('a path that resolves, found a loop of symbolic links');
    case 'ENOTEMPTY':
      return found('an empty folder, found files in it');
    case 'EMFILE':
    case 'ENFILE':
      return found('to open one more file, found too many files open');
    case 'EBUSY':
    case 'ETXTBSY':
      return found('a file not in use, found it busy');
    case 'EXDEV':
      return found(`${err!.dest ?? 'the destination'} on the same file system`);
    case 'EIO':
      return found('a working disk, found an input/output error');
    default:
      return undefined;
  }
}
