import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson, type ExperimentConfig, parseConfig } from '../config/schema.js';
import { check, PoisonlabError } from '../util/errors.js';
import type {
  EpochRecord,
  PoisonRecord,
  RunRecord,
  RunStatusRecord,
  SessionRecord,
  TaskProgressRecord,
  TheoryOverlay,
} from './records.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS config (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  hash TEXT NOT NULL,
  json TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  config_hash TEXT NOT NULL,
  run_key TEXT NOT NULL,
  regime TEXT NOT NULL,
  label TEXT NOT NULL,
  budget REAL,
  width INTEGER NOT NULL,
  repetition INTEGER NOT NULL,
  fold INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  test_accuracy REAL NOT NULL,
  test_loss REAL NOT NULL,
  best_val_accuracy REAL,
  epochs INTEGER NOT NULL,
  best_epoch INTEGER NOT NULL,
  seconds REAL NOT NULL,
  samples_per_second REAL NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  host TEXT NOT NULL,
  PRIMARY KEY (config_hash, run_key)
);
CREATE TABLE IF NOT EXISTS poisons (
  config_hash TEXT NOT NULL,
  poison_key TEXT NOT NULL,
  path TEXT NOT NULL,
  report_json TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  PRIMARY KEY (config_hash, poison_key)
);
CREATE TABLE IF NOT EXISTS epochs (
  config_hash TEXT NOT NULL,
  run_key TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  train_loss REAL,
  train_accuracy REAL,
  val_loss REAL,
  val_accuracy REAL,
  test_loss REAL,
  test_accuracy REAL,
  seconds REAL,
  at TEXT NOT NULL,
  PRIMARY KEY (config_hash, run_key, epoch)
);
CREATE TABLE IF NOT EXISTS run_status (
  config_hash TEXT NOT NULL,
  run_key TEXT NOT NULL,
  status TEXT NOT NULL,
  session INTEGER,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  host TEXT NOT NULL,
  message TEXT,
  PRIMARY KEY (config_hash, run_key)
);
CREATE TABLE IF NOT EXISTS theory (
  config_hash TEXT PRIMARY KEY,
  overlay_json TEXT NOT NULL,
  finished_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
  config_hash TEXT NOT NULL,
  task TEXT NOT NULL,
  session INTEGER,
  first_done INTEGER NOT NULL,
  done INTEGER NOT NULL,
  total INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (config_hash, task)
);
CREATE TABLE IF NOT EXISTS sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  config_hash TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  workers INTEGER NOT NULL,
  runs INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  ended_at TEXT
);
`;

/** How often a running sweep refreshes its session's heartbeat (`sessions.updated_at`). */
export const HEARTBEAT_MS = 30_000;

/** Columns added after the first schema, each with its type: added by `ALTER TABLE` when a store lacks them. */
const ADDED_RUN_COLUMNS: [string, string][] = [
  ['metrics_json', 'TEXT'],
  ['arithmetic', 'TEXT'],
];

function runColumns(db: Database.Database): Set<string> {
  return new Set((db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name));
}

/** Bring an older store's tables up to date (idempotent; old rows keep NULL in the new columns). */
function migrate(db: Database.Database): void {
  const have = runColumns(db);
  for (const [name, type] of ADDED_RUN_COLUMNS)
    if (!have.has(name)) db.exec(`ALTER TABLE runs ADD COLUMN ${name} ${type}`);
}

/**
 * The SQLite database of a sweep folder (`<out>/runs.sqlite`, WAL mode). It holds the sweep's config and its
 * finished runs. A run is inserted only once finished, in one transaction, so a killed sweep loses at most the
 * runs in flight and a re-run skips everything already stored.
 */
export class SweepStore {
  readonly db: Database.Database;

  private constructor(
    readonly path: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /**
   * Open (creating when `create`) the store at `path`. A file that is not a sweep store (random bytes, a
   * truncated or damaged database, another program's SQLite file) is a one-line error naming the file.
   */
  static open(path: string, opts: { create?: boolean; readonly?: boolean } = {}): SweepStore {
    if (!opts.create)
      check(
        existsSync(path),
        `${path}: no sweep database here (expected runs.sqlite from 'poisonlab sweep')`,
      );
    else mkdirSync(dirname(path), { recursive: true });
    checkSqliteHeader(path);
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: !opts.create });
      db.pragma('busy_timeout = 10000');
      checkIntact(db, path);
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.exec(SCHEMA);
        migrate(db);
      }
    } catch (e) {
      db?.close();
      if (e instanceof PoisonlabError) throw e;
      throw new PoisonlabError(`${path}: cannot open sweep database (${(e as Error).message})`);
    }
    return new SweepStore(path, db);
  }

  /** The stored config and its hash, if any. */
  getConfig(): { hash: string; config: ExperimentConfig } | undefined {
    const row = this.db.prepare('SELECT hash, json FROM config WHERE id = 1').get() as
      | { hash: string; json: string }
      | undefined;
    if (!row) return undefined;
    return { hash: row.hash, config: parseConfig(JSON.parse(row.json), `${this.path} (stored config)`) };
  }

  /**
   * Record `config` as this folder's sweep. A folder that holds a different config is a one-line error unless
   * `force` (then the new config replaces it; runs of the old one stay but no longer count).
   */
  bindConfig(config: ExperimentConfig, hash: string, force = false): void {
    const bind = this.db.transaction(() => {
      const row = this.db.prepare('SELECT hash FROM config WHERE id = 1').get() as
        | { hash: string }
        | undefined;
      if (row && row.hash === hash) return;
      if (row && !force)
        throw new PoisonlabError(
          `${this.path}: this folder holds a sweep with another config (hash ${row.hash.slice(0, 12)}, ` +
            `yours ${hash.slice(0, 12)}); use another --out, the same settings, or --force`,
        );
      this.db
        .prepare('INSERT OR REPLACE INTO config (id, hash, json, created_at) VALUES (1, ?, ?, ?)')
        .run(hash, canonicalJson(config), new Date().toISOString());
    });
    bind.immediate();
  }

  /** Run keys already finished under `hash`. */
  finishedKeys(hash: string): Set<string> {
    const rows = this.db.prepare('SELECT run_key FROM runs WHERE config_hash = ?').all(hash) as {
      run_key: string;
    }[];
    return new Set(rows.map((r) => r.run_key));
  }

  /** Store a finished run (one transaction). Returns false when it was already stored (the first one stays). */
  insertRun(r: RunRecord): boolean {
    const info = this.db
      .prepare(
        `INSERT OR IGNORE INTO runs (config_hash, run_key, regime, label, budget, width, repetition, fold, seed,
          test_accuracy, test_loss, best_val_accuracy, epochs, best_epoch, seconds, samples_per_second,
          started_at, finished_at, host, metrics_json, arithmetic)
         VALUES (@configHash, @runKey, @regime, @label, @budget, @width, @repetition, @fold, @seed,
          @testAccuracy, @testLoss, @bestValAccuracy, @epochs, @bestEpoch, @seconds, @samplesPerSecond,
          @startedAt, @finishedAt, @host, @metricsJson, @arithmetic)`,
      )
      .run({
        ...r,
        metrics: undefined,
        metricsJson: r.metrics ? JSON.stringify(r.metrics) : null,
        arithmetic: r.arithmetic ?? null,
      });
    return info.changes === 1;
  }

  /** Every finished run of `hash` (default: the stored config's), ordered by regime label, width, repetition, fold. */
  runs(hash?: string): RunRecord[] {
    const h = hash ?? this.getConfig()?.hash;
    if (!h) return [];
    // A store opened read-only is not migrated: read the added columns only where they exist.
    const columns = runColumns(this.db);
    const metrics = columns.has('metrics_json') ? 'metrics_json' : 'NULL';
    const arithmetic = columns.has('arithmetic') ? 'arithmetic' : 'NULL';
    const rows = this.db
      .prepare(
        `SELECT config_hash AS configHash, run_key AS runKey, regime, label, budget, width, repetition, fold, seed,
          test_accuracy AS testAccuracy, test_loss AS testLoss, best_val_accuracy AS bestValAccuracy, epochs,
          best_epoch AS bestEpoch, seconds, samples_per_second AS samplesPerSecond, started_at AS startedAt,
          finished_at AS finishedAt, host, ${metrics} AS metricsJson, ${arithmetic} AS arithmetic
         FROM runs WHERE config_hash = ? ORDER BY label, width, repetition, fold`,
      )
      .all(h) as (Omit<RunRecord, 'arithmetic'> & {
      metricsJson: string | null;
      arithmetic: string | null;
    })[];
    return rows.map(({ metricsJson, arithmetic: a, ...r }) => ({
      ...r,
      ...(metricsJson ? { metrics: JSON.parse(metricsJson) as Record<string, number | null> } : {}),
      ...(a !== null && { arithmetic: a }),
    }));
  }

  /** Record a generated poison (idempotent). */
  insertPoison(hash: string, p: PoisonRecord): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO poisons (config_hash, poison_key, path, report_json, finished_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(hash, p.poisonKey, p.path, JSON.stringify(p.report ?? null), p.finishedAt);
  }

  /** Every recorded poison of `hash`. */
  poisons(hash: string): PoisonRecord[] {
    const rows = this.db
      .prepare(
        'SELECT poison_key AS poisonKey, path, report_json AS reportJson, finished_at AS finishedAt FROM poisons WHERE config_hash = ? ORDER BY poison_key',
      )
      .all(hash) as { poisonKey: string; path: string; reportJson: string; finishedAt: string }[];
    return rows.map((r) => ({
      poisonKey: r.poisonKey,
      path: r.path,
      report: JSON.parse(r.reportJson),
      finishedAt: r.finishedAt,
    }));
  }

  /** Store the theory overlay of `hash` (computed once per sweep; a later one replaces it). */
  insertTheory(overlay: TheoryOverlay): void {
    this.db
      .prepare('INSERT OR REPLACE INTO theory (config_hash, overlay_json, finished_at) VALUES (?, ?, ?)')
      .run(overlay.configHash, JSON.stringify(overlay), new Date().toISOString());
  }

  /** The stored theory overlay of `hash`, if the sweep has computed it. */
  theory(hash: string): TheoryOverlay | undefined {
    if (!this.hasTable('theory')) return undefined;
    const row = this.db.prepare('SELECT overlay_json AS json FROM theory WHERE config_hash = ?').get(hash) as
      | { json: string }
      | undefined;
    return row ? (JSON.parse(row.json) as TheoryOverlay) : undefined;
  }

  /** Whether the database has `table` (folders of older versions lack the live-view tables). */
  hasTable(table: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !==
      undefined
    );
  }

  /** A counter that changes whenever another connection commits to the database (SQLite's data_version). */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Record that a sweep process started on this folder; returns its session id (for heartbeats and runs). */
  startSession(hash: string, workers: number, runs: number): number {
    const now = new Date().toISOString();
    const info = this.db
      .prepare(
        'INSERT INTO sessions (config_hash, host, pid, workers, runs, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(hash, hostName(), process.pid, workers, runs, now, now);
    return Number(info.lastInsertRowid);
  }

  /** The heartbeat of a session (`end`: it finished). */
  touchSession(id: number, end = false): void {
    const now = new Date().toISOString();
    this.db
      .prepare(`UPDATE sessions SET updated_at = ?${end ? ', ended_at = ?' : ''} WHERE id = ?`)
      .run(...(end ? [now, now, id] : [now, id]));
  }

  /** Every session of `hash`, oldest first. */
  sessions(hash: string): SessionRecord[] {
    if (!this.hasTable('sessions')) return [];
    return this.db
      .prepare(
        `SELECT id, config_hash AS configHash, host, pid, workers, runs, started_at AS startedAt,
          updated_at AS updatedAt, ended_at AS endedAt FROM sessions WHERE config_hash = ? ORDER BY id`,
      )
      .all(hash) as SessionRecord[];
  }

  /**
   * A run started: mark it running. The epochs of an earlier, unfinished attempt stay: a run resumed from its
   * checkpoint continues them, and insertEpoch drops those it redoes (from scratch: all of them).
   */
  markRunning(hash: string, runKey: string, session: number | null): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO run_status (config_hash, run_key, status, session, started_at, updated_at, host, message)
           VALUES (?, ?, 'running', ?, ?, ?, ?, NULL)`,
        )
        .run(hash, runKey, session, now, now, hostName());
    })();
  }

  /**
   * Progress of a long task that is not a run (a poison's attack, the surrogate): `done` of `total` steps. The
   * first call of a task in a session records where it started (a resumed attack starts past 0), so a reader
   * can tell its rate and ETA.
   */
  updateTask(hash: string, task: string, session: number | null, done: number, total: number): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO tasks (config_hash, task, session, first_done, done, total, started_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (config_hash, task) DO UPDATE SET
           first_done = CASE WHEN tasks.session IS excluded.session THEN tasks.first_done ELSE excluded.first_done END,
           started_at = CASE WHEN tasks.session IS excluded.session THEN tasks.started_at ELSE excluded.started_at END,
           session = excluded.session, done = excluded.done, total = excluded.total, updated_at = excluded.updated_at`,
      )
      .run(hash, task, session, done, done, total, now, now);
  }

  /** The task finished (or failed): it no longer shows as in progress. */
  endTask(hash: string, task: string): void {
    this.db.prepare('DELETE FROM tasks WHERE config_hash = ? AND task = ?').run(hash, task);
  }

  /** Tasks in progress (also those of a sweep that died: compare their session with the live ones). */
  tasks(hash: string): TaskProgressRecord[] {
    if (!this.hasTable('tasks')) return []; // a folder swept before the table existed, opened read-only
    const rows = this.db
      .prepare(
        'SELECT task, session, first_done, done, total, started_at, updated_at FROM tasks WHERE config_hash = ? ORDER BY task',
      )
      .all(hash) as {
      task: string;
      session: number | null;
      first_done: number;
      done: number;
      total: number;
      started_at: string;
      updated_at: string;
    }[];
    return rows.map((r) => ({
      task: r.task,
      session: r.session,
      firstDone: r.first_done,
      done: r.done,
      total: r.total,
      startedAt: r.started_at,
      updatedAt: r.updated_at,
    }));
  }

  /** A run failed with `message` (it stays failed until a later attempt starts it again). */
  markFailed(hash: string, runKey: string, message: string): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO run_status (config_hash, run_key, status, session, started_at, updated_at, host, message)
         VALUES (?, ?, 'failed', NULL, ?, ?, ?, ?)
         ON CONFLICT (config_hash, run_key) DO UPDATE SET status = 'failed', updated_at = excluded.updated_at,
           message = excluded.message`,
      )
      .run(hash, runKey, now, now, hostName(), message);
  }

  /** A run finished (its row is in `runs`): it is no longer running or failed. */
  clearRunStatus(hash: string, runKey: string): void {
    this.db.prepare('DELETE FROM run_status WHERE config_hash = ? AND run_key = ?').run(hash, runKey);
  }

  /** Runs of `hash` that are running or failed. */
  runStatuses(hash: string): RunStatusRecord[] {
    if (!this.hasTable('run_status')) return [];
    return this.db
      .prepare(
        `SELECT run_key AS runKey, status, session, started_at AS startedAt, updated_at AS updatedAt, host, message
         FROM run_status WHERE config_hash = ? ORDER BY run_key`,
      )
      .all(hash) as RunStatusRecord[];
  }

  /**
   * Store one epoch of a run. Epoch e of a new attempt replaces what an earlier attempt stored from e on: a run
   * resumed from its checkpoint at epoch k keeps epochs 1 .. k-1 of the attempt it continues, a run started over
   * keeps none.
   */
  insertEpoch(hash: string, runKey: string, e: EpochRecord): void {
    this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM epochs WHERE config_hash = ? AND run_key = ? AND epoch >= ?')
        .run(hash, runKey, e.epoch);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO epochs (config_hash, run_key, epoch, train_loss, train_accuracy, val_loss,
          val_accuracy, test_loss, test_accuracy, seconds, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          hash,
          runKey,
          e.epoch,
          e.trainLoss,
          e.trainAccuracy,
          e.valLoss,
          e.valAccuracy,
          e.testLoss,
          e.testAccuracy,
          e.seconds,
          new Date().toISOString(),
        );
    })();
  }

  /** The stored epochs of one run, in order (empty for folders of older versions). */
  epochs(hash: string, runKey: string): EpochRecord[] {
    if (!this.hasTable('epochs')) return [];
    return this.db
      .prepare(
        `SELECT epoch, train_loss AS trainLoss, train_accuracy AS trainAccuracy, val_loss AS valLoss,
          val_accuracy AS valAccuracy, test_loss AS testLoss, test_accuracy AS testAccuracy, seconds
         FROM epochs WHERE config_hash = ? AND run_key = ? ORDER BY epoch`,
      )
      .all(hash, runKey) as EpochRecord[];
  }

  /** The number of stored epochs per run of `hash` (runs in flight show how far they are). */
  epochCounts(hash: string): Map<string, number> {
    if (!this.hasTable('epochs')) return new Map();
    const rows = this.db
      .prepare('SELECT run_key AS runKey, MAX(epoch) AS n FROM epochs WHERE config_hash = ? GROUP BY run_key')
      .all(hash) as { runKey: string; n: number }[];
    return new Map(rows.map((r) => [r.runKey, r.n]));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** This machine's name, recorded with every run. */
export function hostName(): string {
  return hostname();
}

/** The 16 bytes every SQLite 3 database file starts with. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function notAStore(path: string, found: string): PoisonlabError {
  return new PoisonlabError(`${path}: expected a poisonlab sweep store (SQLite), found ${found}`);
}

/** Refuse a non-empty file that does not start with SQLite's header (an empty file becomes a new store). */
function checkSqliteHeader(path: string): void {
  if (!existsSync(path)) return;
  const size = statSync(path).size;
  if (size === 0) return;
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_MAGIC))
    throw notAStore(path, `${size} bytes that do not start with SQLite's header`);
}

/**
 * Refuse a damaged database (e.g. a truncated copy) before anything reads or writes it: quick_check reads every
 * page once (milliseconds for a sweep's store of a few MB). A database with tables but no sweep config table is
 * another program's.
 */
function checkIntact(db: Database.Database, path: string): void {
  let verdict: string;
  let tables: string[];
  try {
    verdict = String(db.pragma('quick_check(1)', { simple: true }));
    tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
      throw notAStore(path, `a damaged SQLite file (${(e as Error).message})`);
    throw e;
  }
  if (verdict !== 'ok') throw notAStore(path, `a damaged SQLite file (${verdict.split('\n')[0]})`);
  if (tables.length > 0 && !tables.includes('config'))
    throw notAStore(path, `an SQLite database without a sweep's tables (${tables.slice(0, 5).join(', ')})`);
}
