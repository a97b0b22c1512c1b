/**
 * The results of sweeps: run records, their aggregation, and the sweep folder's store (runs.sqlite). A leaf
 * beneath `experiments` (which writes through it) and `report` and `serve` (which only read through it).
 */
export {
  aggregate,
  bestWidths,
  type CellStats,
  compareLabels,
  metricNames,
  metricOf,
} from './aggregate.js';
export { POISON_COST_METRIC, TARGET_GAIN_METRIC, withCleanTwinMetrics } from './clean-twin.js';
export { DER_METRIC, defenceEffectivenessRating, withDefenceEffectiveness } from './der.js';
export { sweepPaths } from './paths.js';
export {
  type EpochRecord,
  epochRecord,
  type PoisonRecord,
  type RegimeWindow,
  type RunMetrics,
  type RunRecord,
  type RunStatusRecord,
  type SessionRecord,
  type TaskProgressRecord,
  type TheoryOverlay,
} from './records.js';
export {
  aggregateExcess,
  type ExcessRecord,
  type ExcessStats,
  excessRecords,
  runSize,
  runSizes,
} from './samplesize.js';
export { HEARTBEAT_MS, hostName, SweepStore } from './store.js';
