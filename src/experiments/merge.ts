import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { SweepStore, sweepPaths } from '../results/index.js';
import { check, PoisonlabError } from '../util/errors.js';
import { planRuns } from './plan.js';

/** What a merge did. */
export interface MergeSummary {
  out: string;
  name: string;
  configHash: string;
  /** Folders merged, in the order given. */
  sources: string[];
  /** Runs added to OUT. */
  added: number;
  /** Runs already present (in OUT or an earlier source): kept once, the first copy wins. */
  duplicates: number;
  /**
   * Of the duplicates, those whose numbers differ from the kept copy (0 where both ran with the same arithmetic:
   * runs are deterministic), each with both arithmetics when they differ.
   */
  conflicts: string[];
  /** Runs of the config in OUT after the merge. */
  runs: number;
  /** Poison records added to OUT (they name the shard's file; the files are not copied). */
  poisons: number;
  /** Run keys of the config that no folder holds (runs of failed or unfinished shards). */
  missing: string[];
}

/**
 * Combine sweep folders of one config (shards of a Slurm array or a Kubernetes Indexed Job, or folders of
 * queue coordinators) into OUT: every finished run once, and the poison records (naming the shards' files).
 * A folder with another config hash (or an OUT that holds another config) is a one-line error, checked
 * before anything is written.
 */
export function mergeSweeps(out: string, dirs: readonly string[]): MergeSummary {
  check(dirs.length > 0, 'merge: expected at least one sweep folder to merge into OUT');
  const sources = dirs.map((d) => {
    const db = sweepPaths(d).db;
    check(existsSync(db), `merge: ${d}: no sweep here (expected ${db} from 'poisonlab sweep')`);
    const store = SweepStore.open(db, { readonly: true });
    const cfg = store.getConfig();
    if (!cfg) store.close();
    check(
      cfg,
      `merge: ${d}: its runs.sqlite holds no config (expected a folder written by 'poisonlab sweep')`,
    );
    return { dir: d, store, ...cfg };
  });
  try {
    const first = sources[0]!;
    for (const s of sources.slice(1))
      check(
        s.hash === first.hash,
        `merge: ${s.dir} holds config ${s.config.name} (hash ${s.hash.slice(0, 12)}), expected hash ${first.hash.slice(0, 12)} ` +
          `of ${first.dir}; only folders of the same config merge`,
      );
    const outDb = sweepPaths(out).db;
    if (existsSync(outDb)) {
      const o = SweepStore.open(outDb, { readonly: true });
      const had = o.getConfig();
      o.close();
      check(
        !had || had.hash === first.hash,
        `merge: OUT ${out} holds config ${had?.config.name} (hash ${had?.hash.slice(0, 12)}), expected hash ${first.hash.slice(0, 12)}; use another OUT`,
      );
    }
    const target = SweepStore.open(outDb, { create: true });
    try {
      target.bindConfig(first.config, first.hash);
      const kept = new Map(target.runs(first.hash).map((r) => [r.runKey, r]));
      let added = 0;
      let duplicates = 0;
      const poisonKeys = new Set(target.poisons(first.hash).map((p) => p.poisonKey));
      const poisonsBefore = poisonKeys.size;
      const conflicts: string[] = [];
      const same = (a: string, b: string) => resolve(a) === resolve(b);
      for (const s of sources) {
        const rows = s.store.runs(first.hash);
        const insert = target.db.transaction(() => {
          for (const r of rows) {
            const had = kept.get(r.runKey);
            if (had) {
              duplicates++;
              // a rerun with another matrix product sums in another order: name both, that is the usual cause
              if (had.testAccuracy !== r.testAccuracy || had.epochs !== r.epochs)
                conflicts.push(
                  had.arithmetic === r.arithmetic
                    ? r.runKey
                    : `${r.runKey} [kept: ${had.arithmetic ?? 'arithmetic unrecorded'}; other: ${r.arithmetic ?? 'arithmetic unrecorded'}]`,
                );
              continue;
            }
            target.insertRun(r);
            kept.set(r.runKey, r);
            added++;
          }
        });
        insert.immediate();
        if (same(s.dir, out)) continue;
        // The theory overlay is the same in every shard: the first one found is kept.
        const overlay = s.store.theory(first.hash);
        if (overlay && !target.theory(first.hash)) target.insertTheory(overlay);
        // Poison records only: they point at the shard's file (paper-scale poisons are large; reports need none).
        for (const p of s.store.poisons(first.hash)) {
          if (!poisonKeys.has(p.poisonKey)) target.insertPoison(first.hash, p);
          poisonKeys.add(p.poisonKey);
        }
      }
      return {
        out,
        name: first.config.name,
        configHash: first.hash,
        sources: sources.map((s) => s.dir),
        added,
        duplicates,
        conflicts,
        runs: kept.size,
        poisons: poisonKeys.size - poisonsBefore,
        missing: planRuns(first.config)
          .map((r) => r.key)
          .filter((k) => !kept.has(k)),
      };
    } finally {
      target.close();
    }
  } finally {
    for (const s of sources) s.store.close();
  }
}

/** One line per merge for the CLI. */
export function mergeLine(m: MergeSummary): string {
  return (
    `merge ${m.name} (${m.configHash.slice(0, 12)}) -> ${basename(m.out) || m.out}: ${m.added} run(s) added, ` +
    `${m.duplicates} duplicate(s) kept once${m.conflicts.length ? ` (${m.conflicts.length} differ: ${m.conflicts.slice(0, 3).join(', ')})` : ''}, ` +
    `${m.runs} run(s) in OUT, ${m.poisons} poison record(s) added` +
    (m.missing.length ? `; ${m.missing.length} run(s) of the config missing` : '')
  );
}

/** For `merge --complete`: one line naming the runs no folder holds, if any. */
export function checkMergeComplete(m: MergeSummary): void {
  if (m.missing.length === 0) return;
  throw new PoisonlabError(
    `merge: ${m.missing.length} of ${m.runs + m.missing.length} runs of ${m.name} are in no folder ` +
      `(first: ${m.missing.slice(0, 3).join(', ')}); expected every run of the config: re-run or re-submit the shards that failed`,
  );
}
