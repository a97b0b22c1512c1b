/**
 * What the live dashboard shows of one sweep folder, read from its runs.sqlite (opened read-only: the sweep
 * process stays the store's only writer): the overview counts, the runs table, one run's history, and the
 * width curve of any stored metric.
 */
import { basename, resolve } from 'node:path';
import type { ExperimentConfig } from '../config/schema.js';
import { planRuns, type RunSpec } from '../experiments/plan.js';
import { type Band, curvePoints, WIDTH_METRICS } from '../report/curve.js';
import { type PaperCurve, paperCurvesFor } from '../report/paper-match.js';
import { comparePaper, paperNoteLines } from '../report/paper-note.js';
import { widthCurveSpec } from '../report/plot.js';
import {
  compareLabels,
  type EpochRecord,
  HEARTBEAT_MS,
  type RunRecord,
  SweepStore,
  sweepPaths,
  type TaskProgressRecord,
} from '../results/index.js';
import { check } from '../util/errors.js';

/** A session whose heartbeat is older than this is taken as dead (killed sweeps never say they ended). */
const SESSION_TIMEOUT_MS = 3 * HEARTBEAT_MS;

export type RunStatus = 'done' | 'running' | 'failed' | 'left';

/** One row of the runs table: every planned run, finished or not. */
export interface RunRow {
  key: string;
  label: string;
  regime: string;
  width: number;
  repetition: number;
  fold: number;
  status: RunStatus;
  testAccuracy: number | null;
  testLoss: number | null;
  bestValAccuracy: number | null;
  bestEpoch: number | null;
  /** Epochs run (finished runs) or stored so far (runs in flight). */
  epochs: number | null;
  seconds: number | null;
  host: string | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Overview {
  index: number;
  name: string;
  dir: string;
  configHash: string;
  dataset: string;
  model: string;
  total: number;
  done: number;
  running: number;
  failed: number;
  left: number;
  /** Sum of the workers of the live sweep processes. */
  workers: number;
  /** Live sweep processes (fresh heartbeat, not ended). */
  sessions: number;
  /** Finished runs per hour: over the last hour while the sweep runs, over the whole sweep once it stopped. */
  runsPerHour: number | null;
  /** Seconds until every left or running run is done at that rate (null when nothing runs). */
  etaSeconds: number | null;
  lastFinishedAt: string | null;
  /** Long tasks in progress in a live sweep process (poisons' attacks, the surrogate). */
  tasks: TaskView[];
}

/** A long task as the overview shows it: how far, how fast, and when it should end. */
export interface TaskView {
  task: string;
  done: number;
  total: number;
  /** Steps per second of this session's piece (a resumed attack counts from where it resumed). */
  stepsPerSecond: number | null;
  etaSeconds: number | null;
  updatedAt: string;
}

/** A task row of a live session, with its rate and ETA from the steps done since its piece started. */
export function taskView(t: TaskProgressRecord): TaskView {
  const seconds = (Date.parse(t.updatedAt) - Date.parse(t.startedAt)) / 1000;
  const rate = seconds > 0 && t.done > t.firstDone ? (t.done - t.firstDone) / seconds : null;
  return {
    task: t.task,
    done: t.done,
    total: t.total,
    stepsPerSecond: rate,
    etaSeconds: rate ? (t.total - t.done) / rate : null,
    updatedAt: t.updatedAt,
  };
}

export interface RunDetail {
  sweep: number;
  row: RunRow;
  seed: number | null;
  poisonKey: string | null;
  epochs: EpochRecord[];
  config: ExperimentConfig;
  poison: { key: string; report: unknown; budgetFraction: number | null } | null;
}

/** One sweep folder opened read-only. */
export class SweepSource {
  private readonly store: SweepStore;
  private planCache: { hash: string; runs: RunSpec[] } | undefined;
  readonly dir: string;

  constructor(
    dir: string,
    readonly index: number,
  ) {
    this.dir = resolve(dir);
    this.store = SweepStore.open(sweepPaths(this.dir).db, { readonly: true });
    check(this.store.getConfig(), `${this.store.path}: holds no sweep config (was the sweep started?)`);
  }

  /** Changes whenever the sweep process commits (read by the live-update loop). */
  version(): number {
    return this.store.dataVersion();
  }

  close(): void {
    this.store.close();
  }

  private state() {
    const stored = this.store.getConfig();
    check(stored, `${this.store.path}: holds no sweep config`);
    const { config, hash } = stored;
    if (this.planCache?.hash !== hash) this.planCache = { hash, runs: planRuns(config) };
    return { config, hash, plan: this.planCache.runs };
  }

  /** Every planned run with its status, and the finished runs. */
  private table(now = Date.now()) {
    const { config, hash, plan } = this.state();
    const done = this.store.runs(hash);
    const byKey = new Map(done.map((r) => [r.runKey, r]));
    const live = new Map(
      this.store
        .sessions(hash)
        .filter((s) => s.endedAt === null && now - Date.parse(s.updatedAt) < SESSION_TIMEOUT_MS)
        .map((s) => [s.id, s]),
    );
    const statuses = new Map(this.store.runStatuses(hash).map((s) => [s.runKey, s]));
    const epochCounts = this.store.epochCounts(hash);
    const rows: RunRow[] = [];
    const planned = new Set<string>();
    const row = (key: string, spec: RunSpec | undefined, r: RunRecord | undefined): RunRow => {
      const s = statuses.get(key);
      const status: RunStatus = r
        ? 'done'
        : s?.status === 'running' && s.session !== null && live.has(s.session)
          ? 'running'
          : s?.status === 'failed'
            ? 'failed'
            : 'left';
      return {
        key,
        label: r?.label ?? spec!.label,
        regime: r?.regime ?? spec!.regime?.regime ?? spec!.attack?.name ?? 'clean',
        width: r?.width ?? spec!.width,
        repetition: r?.repetition ?? spec!.repetition,
        fold: r?.fold ?? spec!.fold,
        status,
        testAccuracy: r?.testAccuracy ?? null,
        testLoss: r?.testLoss ?? null,
        bestValAccuracy: r?.bestValAccuracy ?? null,
        bestEpoch: r?.bestEpoch ?? null,
        epochs: r?.epochs ?? epochCounts.get(key) ?? null,
        seconds: r?.seconds ?? null,
        host: r?.host ?? (status === 'left' ? null : (s?.host ?? null)),
        error: status === 'failed' ? (s?.message ?? null) : null,
        startedAt: r?.startedAt ?? (status === 'left' ? null : (s?.startedAt ?? null)),
        finishedAt: r?.finishedAt ?? null,
      };
    };
    for (const spec of plan) {
      planned.add(spec.key);
      rows.push(row(spec.key, spec, byKey.get(spec.key)));
    }
    for (const r of done) if (!planned.has(r.runKey)) rows.push(row(r.runKey, undefined, r));
    return { config, hash, rows, done, live: [...live.values()] };
  }

  /** The runs table. */
  runs(): RunRow[] {
    return this.table().rows;
  }

  /** The finished runs (for width curves). */
  finished(): RunRecord[] {
    return this.store.runs(this.state().hash);
  }

  /** The sweep's name (its config's), shown in overlays. */
  name(): string {
    return this.state().config.name;
  }

  /** The sweep's config (as stored). */
  config(): ExperimentConfig {
    return this.state().config;
  }

  overview(now = Date.now()): Overview {
    const { config, hash, rows, done, live } = this.table(now);
    const count = (s: RunStatus) => rows.filter((r) => r.status === s).length;
    const running = count('running');
    const left = count('left');
    const finishedTimes = done.map((r) => Date.parse(r.finishedAt)).filter(Number.isFinite);
    let runsPerHour: number | null = null;
    if (live.length > 0) {
      const since = Math.min(...live.map((s) => Date.parse(s.startedAt)));
      const window = Math.max(Math.min(now - since, 3_600_000), 1000);
      const recent = finishedTimes.filter((t) => t >= now - window).length;
      runsPerHour = (recent * 3_600_000) / window;
    } else if (finishedTimes.length > 0) {
      const starts = done.map((r) => Date.parse(r.startedAt)).filter(Number.isFinite);
      const span = Math.max(...finishedTimes) - Math.min(...starts, ...finishedTimes);
      runsPerHour = span > 0 ? (finishedTimes.length * 3_600_000) / span : null;
    }
    const etaSeconds =
      live.length > 0 && runsPerHour !== null && runsPerHour > 0
        ? ((left + running) / runsPerHour) * 3600
        : null;
    return {
      index: this.index,
      name: config.name,
      dir: basename(this.dir),
      configHash: hash,
      dataset: config.dataset,
      model: config.model,
      total: rows.length,
      done: count('done'),
      running,
      failed: count('failed'),
      left,
      workers: live.reduce((a, s) => a + s.workers, 0),
      sessions: live.length,
      runsPerHour,
      etaSeconds,
      lastFinishedAt: finishedTimes.length > 0 ? new Date(Math.max(...finishedTimes)).toISOString() : null,
      tasks: this.store
        .tasks(hash)
        .filter((t) => t.session !== null && live.some((s) => s.id === t.session))
        .map(taskView),
    };
  }

  /** One run: its row, per-epoch history, config and poison; undefined when the sweep has no such run. */
  run(key: string): RunDetail | undefined {
    const { config, hash, rows } = this.table();
    const row = rows.find((r) => r.key === key);
    if (!row) return undefined;
    const spec = this.state().plan.find((r) => r.key === key);
    const poisonKey = spec?.poisonKey ?? null;
    const stored = poisonKey ? this.store.poisons(hash).find((p) => p.poisonKey === poisonKey) : undefined;
    return {
      sweep: this.index,
      row,
      seed: spec?.seed ?? null,
      poisonKey,
      epochs: this.store.epochs(hash, key),
      config,
      poison: stored
        ? { key: stored.poisonKey, report: stored.report, budgetFraction: budgetFraction(stored.report) }
        : null,
    };
  }
}

/**
 * The share of its budget a poison used, from its attack report: sum_i ||delta_i|| / (C sqrt n) in regime A,
 * max_i ||delta_i|| / B in B, flipped labels / (beta n) in C; null when the report lacks the fields.
 */
export function budgetFraction(report: unknown): number | null {
  if (typeof report !== 'object' || report === null) return null;
  const r = report as Record<string, unknown>;
  const num = (k: string) => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : null);
  const budget = num('budget');
  if (budget === null || budget <= 0) return null;
  switch (r['regime']) {
    case 'A': {
      const s = num('deltaNormSum');
      return s === null ? null : s / budget;
    }
    case 'B': {
      const m = num('deltaNormMax');
      return m === null ? null : m / budget;
    }
    case 'C': {
      const f = num('labelsFlipped');
      const n = num('n');
      return f === null || n === null || n === 0 ? null : f / (budget * n);
    }
    default:
      return null;
  }
}

/** The width curve of `metric` over the finished runs of `sources` (one line per regime, per sweep when several). */
export function widthSpec(sources: readonly SweepSource[], metric: string, band: Band) {
  const m = WIDTH_METRICS[metric];
  check(m, `metric ${metric}: expected one of ${Object.keys(WIDTH_METRICS).join(', ')}`);
  const overlay = sources.length > 1;
  const paper: PaperCurve[] = [];
  const points = sources.flatMap((s) => {
    const name = `${s.index}: ${s.name()}`;
    const runs = s.finished();
    const seriesOf = overlay ? (label: string) => `${name} · ${label}` : (label: string) => label;
    // The figure's clean test accuracy, each of its curves once: beside the first sweep that has its arm.
    if (metric === 'testAccuracy') {
      const labels = [...new Set(runs.map((r) => r.label))].sort(compareLabels);
      const mine = paperCurvesFor(s.config(), labels).map((c) => ({ ...c, series: seriesOf(c.series) }));
      paper.push(...mine.filter((c) => !paper.some((p) => p.regime === c.regime)));
    }
    return curvePoints(runs, m, band, (r) => seriesOf(r.label));
  });
  const runs = points.reduce((a, p) => a + p.n, 0);
  const title = overlay
    ? `${m.title} against width (${sources.length} sweeps, ${runs} runs)`
    : `${sources[0]?.name() ?? ''}: ${m.title} against width (${runs} runs)`;
  const note =
    paper.length === 0
      ? undefined
      : overlay
        ? ["Dashed: the paper's figure, read by eye."]
        : paperNoteLines(
            comparePaper(
              sources[0]!.config(),
              points.map((p) => p.width),
            ),
          );
  return widthCurveSpec(points, {
    title,
    ...(note && { subtitle: note, paper }),
    yTitle: m.title,
    yFormat: m.format,
    seriesTitle: overlay ? 'sweep · regime' : 'regime',
    bandTitle: band === 'std' ? '± std' : '95% CI',
    width: 640,
    height: 360,
  });
}
