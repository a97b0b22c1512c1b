import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { type CellStats, compareLabels } from '../results/index.js';
import { paperLayer } from './paper-layer.js';
import type { PaperCurve } from './paper-match.js';

/** Extra drawing on the U-curve (e.g. the theory's width window of ./theory-overlay.ts). */
export interface UcurveExtras {
  /** Vega-Lite layers drawn under the curves (they carry their own data; x is the field 'width'). */
  layers?: unknown[];
  /** Subtitle lines. */
  subtitle?: string[];
  /** The y axis (default: clean test accuracy in percent). */
  yTitle?: string;
  yFormat?: string;
  /** The paper's figure beside the series it matches, dashed (./paper-match.ts; accuracy plots only). */
  paper?: readonly PaperCurve[];
}

/** One point of a width curve: a series' mean at one width, with its band [lo, hi] and its number of runs. */
export interface CurvePoint {
  /** The line it belongs to (a regime label, or 'sweep · regime' when sweeps are overlaid). */
  series: string;
  width: number;
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/** How to draw a width curve. */
export interface WidthCurveOptions extends UcurveExtras {
  title: string;
  /** The y axis' title, e.g. 'clean test accuracy'. */
  yTitle: string;
  /** d3 format of the y axis (default: vega's own). */
  yFormat?: string;
  /** The legend's title (default 'regime'). */
  seriesTitle?: string;
  /** What the band shows, for the tooltip (e.g. '± std'). */
  bandTitle?: string;
  width?: number;
  height?: number;
}

/**
 * A metric against width as a Vega-Lite spec (log x axis), one line per series with points and a band. The
 * static report (ucurveSpec) and the live dashboard (`poisonlab serve`) both draw their width curves with it.
 */
export function widthCurveSpec(points: readonly CurvePoint[], opts: WidthCurveOptions): vl.TopLevelSpec {
  const values = points.map((p) => ({
    regime: p.series,
    width: p.width,
    mean: p.mean,
    lo: p.lo,
    hi: p.hi,
    n: p.n,
  }));
  const x = {
    field: 'width',
    type: 'quantitative',
    scale: { type: 'log' },
    title: 'width m (log scale)',
  } as const;
  // Legend and colours in a fixed order: clean first, then the regimes.
  const domain = [...new Set(points.map((p) => p.series))].sort(compareLabels);
  const color = {
    field: 'regime',
    type: 'nominal',
    title: opts.seriesTitle ?? 'regime',
    // More arms than ten colours (attacks x defences): twenty, and labels long enough for 'badnets+spectral-...'.
    scale: { domain, ...(domain.length > 10 && { scheme: 'tableau20' }) },
    legend: { labelLimit: 320 },
  } as const;
  /** Hover values: the static report's 4 decimals when the axis shows whole percents, else the axis' format. */
  const format = opts.yFormat === undefined || opts.yFormat === '.0%' ? '.4f' : opts.yFormat;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.subtitle ? { text: opts.title, subtitle: opts.subtitle } : opts.title,
    width: opts.width ?? 560,
    height: opts.height ?? 340,
    background: 'white',
    data: { values },
    layer: [
      ...(opts.layers ?? []),
      {
        mark: { type: 'errorband', opacity: 0.2 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: null }, y2: { field: 'hi' }, color },
      },
      ...(opts.paper && opts.paper.length > 0 ? [paperLayer(opts.paper, x, color)] : []),
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            field: 'mean',
            type: 'quantitative',
            title: opts.yTitle,
            scale: { zero: false },
            ...(opts.yFormat !== undefined && { axis: { format: opts.yFormat } }),
          },
          color,
          tooltip: [
            { field: 'regime', ...(opts.seriesTitle !== undefined && { title: opts.seriesTitle }) },
            { field: 'width' },
            { field: 'mean', format },
            ...(opts.bandTitle
              ? [
                  { field: 'lo', title: `${opts.bandTitle} low`, format },
                  { field: 'hi', title: `${opts.bandTitle} high`, format },
                ]
              : []),
            { field: 'n' },
          ],
        },
      },
    ],
    config: { font: 'DejaVu Sans', legend: { symbolOpacity: 1 } },
  } as vl.TopLevelSpec;
}

/**
 * The paper's figure as a Vega-Lite spec: mean clean test accuracy against width (log x axis), one line per
 * regime, with a +- one standard deviation band.
 */
export function ucurveSpec(
  cells: readonly CellStats[],
  title: string,
  extras: UcurveExtras = {},
): vl.TopLevelSpec {
  return widthCurveSpec(
    cells.map((c) => ({
      series: c.label,
      width: c.width,
      mean: c.mean,
      lo: c.mean - c.std,
      hi: c.mean + c.std,
      n: c.n,
    })),
    { ...extras, title, yTitle: extras.yTitle ?? 'clean test accuracy', yFormat: extras.yFormat ?? '.0%' },
  );
}

/** Render a Vega-Lite spec to SVG in Node (no canvas needed). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG to PNG at `scale` times its size, with the system's fonts so text renders. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}
