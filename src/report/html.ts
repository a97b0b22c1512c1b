import { describeFolds, type ExperimentConfig } from '../config/schema.js';
import { bestWidths, type CellStats, compareLabels } from '../results/index.js';
import type { PoisonStats } from './poisons.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const pct = (v: number) => (100 * v).toFixed(2);

/** report.html: the plot (SVG inline), the regime x width table and the best widths, self-contained. */
export function reportHtml(
  config: ExperimentConfig,
  hash: string,
  cells: readonly CellStats[],
  svg: string,
  extra: { verdicts?: readonly string[]; poisons?: readonly PoisonStats[]; paper?: string } = {},
): string {
  const widths = [...new Set(cells.map((c) => c.width))].sort((a, b) => a - b);
  const labels = [...new Set(cells.map((c) => c.label))].sort(compareLabels);
  const byKey = new Map(cells.map((c) => [`${c.label}|${c.width}`, c]));
  const rows = labels
    .map((l) => {
      const tds = widths
        .map((w) => {
          const c = byKey.get(`${l}|${w}`);
          return c ? `<td>${pct(c.mean)} ± ${pct(c.std)} <small>(${c.n})</small></td>` : '<td>–</td>';
        })
        .join('');
      return `<tr><th>${esc(l)}</th>${tds}</tr>`;
    })
    .join('\n');
  const best = bestWidths(cells)
    .map((b) => `<tr><th>${esc(b.label)}</th><td>${b.width}</td><td>${pct(b.mean)} ± ${pct(b.std)}</td></tr>`)
    .join('\n');
  const verdicts = (extra.verdicts ?? []).map((v) => `<li>${esc(v)}</li>`).join('\n');
  const poisons = (extra.poisons ?? [])
    .map((p) => {
      const spent = p.budgetSpent ? `${(100 * p.budgetSpent.mean).toFixed(1)} %` : '–';
      const sur =
        p.surrogateBefore !== undefined && p.surrogateAfter !== undefined
          ? `${pct(p.surrogateBefore)} → ${pct(p.surrogateAfter)}`
          : '–';
      return `<tr><th>${esc(p.label)}</th><td>${p.count}</td><td>${spent}</td><td>${p.deltaNormSum.toFixed(1)}</td><td>${Math.round(p.labelsFlipped)}</td><td>${sur}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>poisonlab: ${esc(config.name)}</title>
<style>body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:2em;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f4f4f4}small{color:#777}</style></head>
<body>
<h1>Width sweep: ${esc(config.name)}</h1>
<p>Dataset <code>${esc(config.dataset)}</code>, model <code>${esc(config.model)}</code>, ${config.repetitions} repetition(s),
${describeFolds(config)}. Config hash <code>${hash.slice(0, 12)}</code>.
Files: <a href="results.csv">results.csv</a>, <a href="summary.md">summary.md</a>, <a href="ucurve.png">ucurve.png</a>.</p>
<figure>${svg}</figure>
${extra.paper ? `<p class="paper"><strong>The paper beside it.</strong> ${esc(extra.paper)}</p>\n` : ''}<h2>Clean test accuracy (%): mean ± std (runs)</h2>
<table><tr><th>regime</th>${widths.map((w) => `<th>m = ${w}</th>`).join('')}</tr>
${rows}
</table>
<h2>Best width per regime</h2>
<table><tr><th>regime</th><th>width</th><th>accuracy (%)</th></tr>
${best}
</table>
${verdicts ? `<h2>Interior maximum per regime</h2>\n<p>Seen when the best width beats both the narrowest and the widest by at least two standard errors of the difference, with at least 3 repetitions.</p>\n<ul>${verdicts}</ul>` : ''}
${poisons ? `<h2>Poisons</h2>\n<p>Budget spent: A, sum ‖δ<sub>i</sub>‖ / (C √n); B, mean ‖δ<sub>i</sub>‖ / B (mean over repetitions).</p>\n<table><tr><th>regime</th><th>poisons</th><th>budget spent</th><th>sum ‖δ‖</th><th>labels flipped</th><th>surrogate accuracy (%) clean → poisoned</th></tr>\n${poisons}\n</table>` : ''}
</body></html>
`;
}
