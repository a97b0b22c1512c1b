import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { type CellStats, compareLabels } from './aggregate.js';

/** Extra drawing on the U-curve (e.g. the theory's width window of ./theory-overlay.ts). */
export interface UcurveExtras {
  /** Vega-Lite layers drawn under the curves (they carry their own data; x is the field 'width'). */
  layers?: unknown[];
  /** Subtitle lines. */
  subtitle?: string[];
  /** The y axis (default: clean test accuracy in percent). */
  yTitle?: string;
  yFormat?: string;
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
  const values = cells.map((c) => ({
    regime: c.label,
    width: c.width,
    mean: c.mean,
    lo: c.mean - c.std,
    hi: c.mean + c.std,
    n: c.n,
  }));
  const x = {
    field: 'width',
    type: 'quantitative',
    scale: { type: 'log' },
    title: 'width m (log scale)',
  } as const;
  // Legend and colours in a fixed order: clean first, then the regimes.
  const domain = [...new Set(cells.map((c) => c.label))].sort(compareLabels);
  const color = {
    field: 'regime',
    type: 'nominal',
    title: 'regime',
    // More arms than ten colours (attacks x defences): twenty, and labels long enough for 'badnets+spectral-...'.
    scale: { domain, ...(domain.length > 10 && { scheme: 'tableau20' }) },
    legend: { labelLimit: 320 },
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: extras.subtitle ? { text: title, subtitle: extras.subtitle } : title,
    width: 560,
    height: 340,
    background: 'white',
    data: { values },
    layer: [
      ...(extras.layers ?? []),
      {
        mark: { type: 'errorband', opacity: 0.2 },
        encoding: { x, y: { field: 'lo', type: 'quantitative', title: null }, y2: { field: 'hi' }, color },
      },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            field: 'mean',
            type: 'quantitative',
            title: extras.yTitle ?? 'clean test accuracy',
            scale: { zero: false },
            axis: { format: extras.yFormat ?? '.0%' },
          },
          color,
          tooltip: [
            { field: 'regime' },
            { field: 'width' },
            { field: 'mean', format: '.4f' },
            { field: 'n' },
          ],
        },
      },
    ],
    config: { font: 'DejaVu Sans', legend: { symbolOpacity: 1 } },
  } as vl.TopLevelSpec;
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
