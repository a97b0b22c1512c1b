/**
 * The records of a sweep as the store holds them: finished runs and their metrics, generated poisons, per-epoch
 * histories, run statuses and sweep sessions. `experiments` writes them, `report` and `serve` read them.
 */

/** What one finished run measured. */
export interface RunMetrics {
  testAccuracy: number;
  testLoss: number;
  /** Best validation accuracy (the epoch whose weights were kept); null without a validation fold. */
  bestValAccuracy: number | null;
  epochs: number;
  bestEpoch: number;
  seconds: number;
  samplesPerSecond: number;
  /**
   * Named metrics beyond the columns above (the `metrics_json` column): `testAccuracy`, `classAccuracy.<k>`,
   * `attackSuccessRate` (backdoors), `defenceRemoved`, `defencePrecision`, `defenceRecall`, ... Absent in runs
   * stored before the column existed.
   */
  metrics?: Record<string, number | null>;
  /**
   * The arithmetic the numbers came from: backend, matrix product and its threads (`poisonlab doctor`), e.g.
   * 'wasm + native; gemm OpenBLAS 0.3.21 Cooperlake, own packed AVX-512 (8x16) for n <= 16; 1 thread'. A seed fixes
   * a run's numbers for one of these only (the sum order of the products differs). Absent in runs stored before.
   */
  arithmetic?: string;
}

/** A finished run as stored. */
export interface RunRecord extends RunMetrics {
  configHash: string;
  runKey: string;
  /** 'clean' | 'A' | 'B' | 'C'. */
  regime: string;
  /** e.g. 'A-C500'. */
  label: string;
  /** C (A), B (B), beta (C), null (clean). */
  budget: number | null;
  width: number;
  repetition: number;
  fold: number;
  seed: number;
  startedAt: string;
  finishedAt: string;
  host: string;
}

/** A generated poison as stored (its data lives in the .npz file). */
export interface PoisonRecord {
  poisonKey: string;
  path: string;
  report: unknown;
  finishedAt: string;
}

/** One epoch of a run's training, stored as it goes (absent values: no validation or test set). */
export interface EpochRecord {
  epoch: number;
  trainLoss: number | null;
  trainAccuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  testLoss: number | null;
  testAccuracy: number | null;
  seconds: number | null;
}

/** A run that started (and has not finished) or failed, as the sweep process recorded it. */
export interface RunStatusRecord {
  runKey: string;
  status: 'running' | 'failed';
  /** The sweep session (row of `sessions`) that ran it. */
  session: number | null;
  startedAt: string;
  updatedAt: string;
  host: string;
  message: string | null;
}

/** One `poisonlab sweep` process working on a folder; `updatedAt` is its heartbeat. */
export interface SessionRecord {
  id: number;
  configHash: string;
  host: string;
  pid: number;
  workers: number;
  /** Runs it set out to train. */
  runs: number;
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
}

/** An epoch's metrics as stored (undefined values become null). */
export function epochRecord(m: {
  epoch: number;
  trainLoss?: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  seconds?: number;
}): EpochRecord {
  return {
    epoch: m.epoch,
    trainLoss: m.trainLoss ?? null,
    trainAccuracy: m.trainAccuracy ?? null,
    valLoss: m.valLoss ?? null,
    valAccuracy: m.valAccuracy ?? null,
    testLoss: m.testLoss ?? null,
    testAccuracy: m.testAccuracy ?? null,
    seconds: m.seconds ?? null,
  };
}

/** The theorem's prediction for one regime of a sweep. */
export interface RegimeWindow {
  label: string;
  /** c / gamma^8. */
  widthMin: number;
  /** The regime's largest width (null: unbounded, e.g. clean data). */
  widthMax: number | null;
  windowEmpty: boolean;
  /** The theorem's bound on the average error for this regime (clean data: regime C's with beta = 0). */
  errorBound: number;
}

/**
 * The theory overlay of a sweep with `theory` settings: gamma estimated on the clean training set and each
 * regime's width window. The sweep computes it once (a task) and stores it; the report draws it.
 */
export interface TheoryOverlay {
  configHash: string;
  gamma: number;
  /** Standard deviation of gamma over the margin estimate's repeats. */
  gammaSpread: number;
  n: number;
  d: number;
  delta: number;
  constant: number;
  widthMin: number;
  regimes: RegimeWindow[];
}

/** A long task's progress as the store holds it (see SweepStore.updateTask). */
export interface TaskProgressRecord {
  task: string;
  session: number | null;
  /** Steps done when this session's piece of the task started. */
  firstDone: number;
  done: number;
  total: number;
  startedAt: string;
  updatedAt: string;
}
