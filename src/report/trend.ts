/**
 * The shape of any metric against width, per arm, by the two-standard-error rule of the accuracy verdict
 * (verdict.ts): an interior maximum or minimum (the extreme interior width >= 2 SE beyond both edges), else a rise
 * or a fall from the narrowest width to the widest (>= 2 SE), else flat within 2 SE. Each needs at least
 * MIN_REPS_FOR_VERDICT runs per width to count; with fewer the line says what the means show and that it does not
 * count. The differences are verdict.ts's meanDifference.
 */
import type { CellStats } from '../results/index.js';
import { MIN_REPS_FOR_VERDICT, meanDifference } from './verdict.js';

export type TrendShape = 'interior maximum' | 'interior minimum' | 'rises' | 'falls' | 'flat';

export interface WidthTrend {
  label: string;
  shape: TrendShape;
  /** Whether the shape counts: a shape other than flat (its differences >= 2 SE) with enough runs per width. */
  decided: boolean;
  /** The width of the interior extremum, or the widest for a rise, fall or flat curve. */
  width: number;
  /** The differences that decide: against each edge for an extremum, widest against narrowest otherwise. */
  sides: { width: number; against: number; diff: number; se: number; z: number }[];
  minReps: number;
  line: string;
}

function side(a: CellStats, b: CellStats) {
  return { width: a.width, against: b.width, ...meanDifference(a, b) };
}

/**
 * The trend of `label`'s cells of one metric; `format` writes a difference in the metric's `unit` (e.g. `pts`).
 * Undefined without cells of that label.
 */
export function widthTrend(
  label: string,
  cells: readonly CellStats[],
  format: (v: number) => string,
  unit = '',
): WidthTrend | undefined {
  const own = cells.filter((c) => c.label === label).sort((a, b) => a.width - b.width);
  if (own.length === 0) return undefined;
  const first = own[0]!;
  const last = own[own.length - 1]!;
  const minReps = Math.min(...own.map((c) => c.n));
  const enough = minReps >= MIN_REPS_FOR_VERDICT;
  const interior = own.slice(1, -1);
  const fmtSide = (s: ReturnType<typeof side>) =>
    `${s.diff >= 0 ? '+' : ''}${format(s.diff)} ± ${format(s.se)}${unit && ` ${unit}`} against m = ${s.against} (${Number.isFinite(s.z) ? `${s.z.toFixed(1)} SE` : 'no spread'})`;
  // a shape is chosen only where its differences reach 2 SE; it counts with enough runs (flat never decides)
  const make = (shape: TrendShape, width: number, sides: ReturnType<typeof side>[]): WidthTrend => {
    const status =
      enough || own.length < 2
        ? ''
        : ` (only ${minReps} run(s) per width, ${MIN_REPS_FOR_VERDICT} needed: does not count)`;
    const what =
      shape === 'interior maximum' || shape === 'interior minimum'
        ? `${shape} at m = ${width}`
        : shape !== 'flat'
          ? `${shape} from m = ${first.width} to m = ${last.width}`
          : own.length < 2
            ? `one width only (m = ${width}), no trend`
            : `no rise, fall or interior extremum of 2 SE over m = ${first.width} .. ${last.width}`;
    const detail = sides.length > 0 ? `: ${sides.map(fmtSide).join(', ')}` : '';
    return {
      label,
      shape,
      decided: enough && shape !== 'flat',
      width,
      sides,
      minReps,
      line: `${label}: ${what}${status}${detail}; ${minReps} run(s) per width`,
    };
  };
  if (interior.length > 0) {
    const hi = interior.reduce((b, c) => (c.mean > b.mean ? c : b));
    const his = [side(hi, first), side(hi, last)];
    if (his.every((s) => s.z >= 2)) return make('interior maximum', hi.width, his);
    const lo = interior.reduce((b, c) => (c.mean < b.mean ? c : b));
    const los = [side(lo, first), side(lo, last)];
    if (los.every((s) => s.z <= -2)) return make('interior minimum', lo.width, los);
  }
  if (own.length < 2) return make('flat', last.width, []);
  const ends = side(last, first);
  if (ends.z >= 2) return make('rises', last.width, [ends]);
  if (ends.z <= -2) return make('falls', last.width, [ends]);
  return make('flat', last.width, [ends]);
}
