import type { PaperCurve } from './paper-match.js';

/** The legend entry of the figure's dashed curves. */
export const PAPER_LEGEND = 'paper (read by eye)';

/** The Vega-Lite name of the paper's layer: its marks are `g.paper_marks` in the SVG (tests find them so). */
export const PAPER_LAYER_NAME = 'paper';

/**
 * The figure's curves as one Vega-Lite layer: dashed lines in the colour of the poisonlab series each stands
 * beside (`color` is that series' encoding, so the scale is shared), with one legend entry, PAPER_LEGEND.
 * Values are in the field 'mean' like the series', so both share the y axis.
 */
export function paperLayer(curves: readonly PaperCurve[], x: unknown, color: unknown): unknown {
  const values = curves.flatMap((c) =>
    c.points.map((p) => ({ regime: c.series, width: p.width, mean: p.accuracy, figure: c.regime })),
  );
  return {
    name: PAPER_LAYER_NAME,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.6, opacity: 0.9 },
    encoding: {
      x,
      y: { field: 'mean', type: 'quantitative', title: null },
      color,
      // A constant, for a legend of one dashed entry under the regimes'.
      strokeDash: {
        datum: PAPER_LEGEND,
        type: 'nominal',
        scale: { domain: [PAPER_LEGEND], range: [[6, 4]] },
        legend: {
          title: null,
          symbolStrokeColor: '#555',
          symbolType: 'stroke',
          symbolSize: 500,
          symbolStrokeWidth: 1.6,
        },
      },
      detail: { field: 'regime' },
    },
  };
}
