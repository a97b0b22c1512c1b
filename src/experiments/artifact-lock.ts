/**
 * Artifacts (a surrogate, a poison) built once in a cache folder shared by many processes on many machines
 * (NFS or any folder they all mount), e.g. the tasks of a Slurm array.
 *
 * The first process to need an artifact takes its lock, `<artifact>.lock`: a folder made with mkdir (atomic on
 * local and network file systems) whose mtime the holder refreshes every few seconds (proper-lockfile). Everyone
 * else waits for the lock, then finds the artifact and reads it. A holder that dies (kill -9, a node that loses
 * power, a task cancelled mid-build) stops refreshing: after `staleMs` its lock counts as abandoned and the next
 * process takes it over and builds. Artifacts are written atomically, so a dead holder never leaves half a file.
 *
 * The builder records the artifact's content hash (./artifacts.ts) beside it, `<artifact>.sha256`; a reader
 * checks the file it reads against that hash, so a damaged or replaced file is a one-line error, not numbers
 * computed from other data.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../util/atomic.js';
import { PoisonlabError } from '../util/errors.js';
import { artifactInfo } from './artifacts.js';

/** How long an unrefreshed lock lives (its holder presumed dead after), and how often a holder refreshes it. */
export const LOCK_DEFAULTS = { staleMs: 10_000, updateMs: 2_000, pollMs: 250 };

/** What happened to an artifact, for the sweep's log. */
export type ArtifactAction =
  /** This process holds the lock and starts building it. */
  | 'building'
  /** This process built it (holding the lock). */
  | 'built'
  /** It was there, with its recorded hash. */
  | 'reused'
  /** Another process held the lock: this one waits. */
  | 'waiting'
  /** Another process built it while this one waited. */
  | 'reused-after-wait';

export interface BuildOnceOptions {
  /** Names the artifact in messages, e.g. 'poison A-C500-r0'. */
  what: string;
  staleMs?: number;
  updateMs?: number;
  onEvent?: (action: ArtifactAction, contentHash?: string) => void;
  /** Give up waiting for the lock (the sweep is stopping). */
  signal?: AbortSignal;
  /** The holder's lock could not be refreshed in time (another process may build it too; both write the same). */
  onWarning?: (message: string) => void;
}

/** The hash file recorded beside an artifact. */
export const hashFile = (path: string) => `${path}.sha256`;

/** Check `path` against its recorded hash; its hash and meta. */
function verified(path: string, what: string): { contentHash: string; meta: unknown } {
  const info = artifactInfo(path);
  const got = info.contentHash;
  const want = readFileSync(hashFile(path), 'utf8').trim();
  if (got !== want)
    throw new PoisonlabError(
      `${what}: ${path} has content hash ${got.slice(0, 12)}, expected ${want.slice(0, 12)} as recorded by the ` +
        `task that built it in ${hashFile(path)} (a damaged or replaced file: delete both to rebuild)`,
    );
  return info;
}

/**
 * Make sure the artifact at `path` exists, built by exactly one process among all that share its folder:
 * `build` runs only in the process holding the lock, and only when the artifact is still missing then.
 * Resolves with the artifact's content hash and whether this process built it.
 */
export async function buildOnce(
  path: string,
  build: () => Promise<void>,
  o: BuildOnceOptions,
): Promise<{ contentHash: string; built: boolean; meta: unknown }> {
  if (existsSync(path) && existsSync(hashFile(path))) {
    const { contentHash, meta } = verified(path, o.what);
    o.onEvent?.('reused', contentHash);
    return { contentHash, built: false, meta };
  }
  mkdirSync(dirname(path), { recursive: true });
  const staleMs = o.staleMs ?? LOCK_DEFAULTS.staleMs;
  const settings = {
    realpath: false,
    stale: staleMs,
    update: Math.min(o.updateMs ?? LOCK_DEFAULTS.updateMs, staleMs / 2),
    onCompromised: (e: Error) =>
      o.onWarning?.(
        `${o.what}: the lock ${path}.lock was lost (${e.message}); another task may build it too (the same bytes)`,
      ),
  };
  let release: () => Promise<void>;
  let waited = false;
  for (;;) {
    try {
      release = await lockfile.lock(path, settings);
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ELOCKED') throw e;
      if (o.signal?.aborted) throw new PoisonlabError(`${o.what}: stopped while waiting for its lock`);
      if (!waited) o.onEvent?.('waiting');
      waited = true;
      await new Promise((r) => setTimeout(r, LOCK_DEFAULTS.pollMs));
    }
  }
  try {
    if (existsSync(path)) {
      // Built while this process waited, or by a holder that died after the file and before its hash.
      const recorded = existsSync(hashFile(path));
      const { contentHash, meta } = recorded ? verified(path, o.what) : artifactInfo(path);
      if (!recorded) writeFileAtomic(hashFile(path), `${contentHash}\n`);
      o.onEvent?.(waited ? 'reused-after-wait' : 'reused', contentHash);
      return { contentHash, built: false, meta };
    }
    // A stop that came while this process waited (or polled for its lock): the lock is released and nothing is
    // built, so a task told to stop starts no new work after its summary.
    if (o.signal?.aborted) throw new PoisonlabError(`${o.what}: stopped before building`);
    o.onEvent?.('building');
    await build();
    if (!existsSync(path)) throw new PoisonlabError(`${o.what}: the build wrote no ${path}`);
    const { contentHash, meta } = artifactInfo(path);
    writeFileAtomic(hashFile(path), `${contentHash}\n`);
    o.onEvent?.('built', contentHash);
    return { contentHash, built: true, meta };
  } finally {
    await release!().catch(() => {});
  }
}
