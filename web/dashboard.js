// The poisonlab dashboard: a plain ES module, no build step. It reads the server's JSON views, draws the width
// curve with vega-embed (the spec comes from the server, built by the same function as the static report), and
// refreshes whatever is on screen when the server's event stream says a sweep's store changed.
/* global vegaEmbed */

const state = {
  sweeps: [],
  metrics: [],
  /** Runs table: sweep index, rows, sort column and direction. */
  runsSweep: 0,
  rows: [],
  sort: { key: 'key', dir: 1 },
  /** Sweeps overlaid in the width view. */
  overlay: new Set([0]),
  widthView: null,
  run: null,
  /** Bumped after every redraw, so tests can wait for a fresh one. */
  renders: { overview: 0, width: 0, runs: 0, run: 0 },
};
window.__poisonlab = state;

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
};

async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `${url}: HTTP ${res.status}`);
  return body;
}

const pct = (v) => (v === null || v === undefined ? '' : `${(100 * v).toFixed(2)}%`);
const num = (v, d = 1) => (v === null || v === undefined ? '' : Number(v).toFixed(d));
function duration(s) {
  if (s === null || s === undefined) return '–';
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

// ---- overview ----

function renderOverview() {
  const body = $('#overview-table tbody');
  body.replaceChildren(
    ...state.sweeps.map((s) => {
      const bar = el('span', { class: 'bar', title: `${s.done} done of ${s.total}` });
      let left = 0;
      for (const k of ['done', 'running', 'failed']) {
        const w = s.total > 0 ? (100 * s[k]) / s.total : 0;
        bar.append(el('span', { class: k, style: `left:${left}%;width:${w}%` }));
        left += w;
      }
      return el(
        'tr',
        { 'data-sweep': s.index },
        el('td', {}, s.index),
        el('td', { class: 'text' }, s.name),
        el('td', { class: 'text' }, s.dir),
        el('td', { class: 'text' }, `${s.dataset} · ${s.model}`),
        el('td', { 'data-k': 'done' }, s.done),
        el('td', { 'data-k': 'running' }, s.running),
        el('td', { 'data-k': 'failed' }, s.failed),
        el('td', { 'data-k': 'left' }, s.left),
        el('td', {}, bar),
        el('td', {}, s.runsPerHour === null ? '–' : s.runsPerHour.toFixed(1)),
        el('td', {}, duration(s.etaSeconds)),
        el('td', {}, s.workers),
        el('td', { class: 'text' }, s.lastFinishedAt ? new Date(s.lastFinishedAt).toLocaleTimeString() : '–'),
      );
    }),
  );
  renderTasks();
  state.renders.overview++;
}

/** The long tasks of every live sweep (a poison's attack runs for hours before its runs can start). */
function renderTasks() {
  const rows = state.sweeps.flatMap((s) =>
    (s.tasks ?? []).map((t) => {
      const pct = t.total > 0 ? (100 * t.done) / t.total : 0;
      const bar = el('span', { class: 'bar', title: `${pct.toFixed(1)} %` });
      bar.append(el('span', { class: 'running', style: `left:0;width:${pct}%` }));
      return el(
        'tr',
        { 'data-task': t.task },
        el('td', {}, s.index),
        el('td', { class: 'text' }, t.task),
        el('td', {}, bar, ` ${pct.toFixed(1)} %`),
        el('td', {}, `${t.done}/${t.total}`),
        el('td', {}, t.stepsPerSecond === null ? '–' : t.stepsPerSecond.toFixed(1)),
        el('td', {}, duration(t.etaSeconds)),
        el('td', { class: 'text' }, new Date(t.updatedAt).toLocaleTimeString()),
      );
    }),
  );
  const body = $('#tasks-table tbody');
  body.replaceChildren(
    ...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: 7, class: 'text' }, 'none'))]),
  );
}

// ---- width curve ----

function renderWidthControls() {
  const metric = $('#width-metric');
  if (metric.options.length === 0)
    for (const m of state.metrics) metric.append(el('option', { value: m.name }, m.title));
  const box = $('#width-sweeps');
  if (state.sweeps.length > 1 && box.childElementCount === 0) {
    box.append('overlay: ');
    for (const s of state.sweeps) {
      const cb = el('input', { type: 'checkbox', 'data-sweep': s.index });
      cb.checked = state.overlay.has(s.index);
      cb.addEventListener('change', () => {
        if (cb.checked) state.overlay.add(s.index);
        else state.overlay.delete(s.index);
        if (state.overlay.size === 0) {
          state.overlay.add(s.index);
          cb.checked = true;
        }
        renderWidth();
      });
      box.append(el('label', {}, cb, ` ${s.index}: ${s.name} `));
    }
  }
}

async function renderWidth() {
  const q = new URLSearchParams({
    sweeps: [...state.overlay].sort((a, b) => a - b).join(','),
    metric: $('#width-metric').value || 'testAccuracy',
    band: $('#width-band').value,
  });
  const spec = await getJson(`/api/width?${q}`);
  const result = await vegaEmbed('#chart', spec, { renderer: 'svg', actions: false });
  state.widthView?.finalize();
  state.widthView = result.view;
  state.renders.width++;
}

async function exportChart(type) {
  const view = state.widthView;
  if (!view) return;
  const url = type === 'svg' ? svgUrl(await view.toSVG()) : await view.toImageURL('png', 2);
  download(url, `width-curve.${type}`);
}

const svgUrl = (svg) => URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));

function download(url, name) {
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---- runs table ----

const COLUMNS = [
  { key: 'key', title: 'run', text: true },
  { key: 'label', title: 'regime', text: true },
  { key: 'width', title: 'width' },
  { key: 'repetition', title: 'rep' },
  { key: 'fold', title: 'fold' },
  { key: 'status', title: 'status', text: true },
  { key: 'testAccuracy', title: 'test acc', fmt: pct },
  { key: 'bestValAccuracy', title: 'best val acc', fmt: pct },
  { key: 'bestEpoch', title: 'best epoch' },
  { key: 'epochs', title: 'epochs' },
  { key: 'seconds', title: 'seconds', fmt: (v) => num(v, 1) },
  { key: 'host', title: 'host', text: true },
  { key: 'error', title: 'error', text: true },
];
const FILTERS = ['label', 'width', 'repetition', 'fold', 'status'];

function filteredRows() {
  const wanted = FILTERS.map((f) => [f, $(`#f-${f}`).value]).filter(([, v]) => v !== '');
  const rows = state.rows.filter((r) => wanted.every(([f, v]) => String(r[f]) === v));
  const { key, dir } = state.sort;
  return rows.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  });
}

function renderRunsHeader() {
  const tr = $('#runs-table thead tr');
  tr.replaceChildren(
    ...COLUMNS.map((c) => {
      const th = el('th', { 'data-key': c.key, class: c.text ? 'text' : '' }, c.title);
      if (state.sort.key === c.key) th.classList.add(state.sort.dir > 0 ? 'sorted-asc' : 'sorted-desc');
      th.addEventListener('click', () => {
        state.sort = { key: c.key, dir: state.sort.key === c.key ? -state.sort.dir : 1 };
        renderRuns();
      });
      return th;
    }),
  );
}

function renderFilters() {
  for (const f of FILTERS) {
    const sel = $(`#f-${f}`);
    const current = sel.value;
    const values = [...new Set(state.rows.map((r) => r[f]))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    sel.replaceChildren(
      el('option', { value: '' }, 'all'),
      ...values.map((v) => el('option', { value: v }, v)),
    );
    sel.value = values.map(String).includes(current) ? current : '';
  }
}

function renderRuns() {
  renderRunsHeader();
  const rows = filteredRows();
  $('#runs-table tbody').replaceChildren(
    ...rows.map((r) =>
      el(
        'tr',
        {
          class: `status-${r.status}`,
          'data-key': r.key,
          onclick: () => {
            location.hash = `#run/${state.runsSweep}/${encodeURIComponent(r.key)}`;
          },
        },
        ...COLUMNS.map((c) =>
          el(
            'td',
            {
              class: `${c.text ? 'text' : ''} ${c.key === 'error' ? 'error' : ''}`,
              title: c.key === 'error' ? (r.error ?? '') : '',
            },
            c.fmt ? c.fmt(r[c.key]) : (r[c.key] ?? ''),
          ),
        ),
      ),
    ),
  );
  $('#runs-count').textContent = `${rows.length} of ${state.rows.length} runs`;
  state.renders.runs++;
}

async function loadRuns() {
  state.rows = await getJson(`/api/sweeps/${state.runsSweep}/runs`);
  renderFilters();
  renderRuns();
}

function csvCell(v) {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function exportCsv() {
  const lines = [COLUMNS.map((c) => c.key).join(',')];
  for (const r of filteredRows()) lines.push(COLUMNS.map((c) => csvCell(r[c.key])).join(','));
  download(URL.createObjectURL(new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' })), 'runs.csv');
}

// ---- one run ----

function curvesSpec(epochs, best) {
  const values = [];
  for (const e of epochs)
    for (const split of ['train', 'val', 'test'])
      for (const metric of ['accuracy', 'loss']) {
        const v = e[`${split}${metric === 'accuracy' ? 'Accuracy' : 'Loss'}`];
        if (v !== null && v !== undefined) values.push({ epoch: e.epoch, split, metric, value: v });
      }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 320,
      height: 220,
      layer: [
        {
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
            y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
            color: { field: 'split', type: 'nominal', scale: { domain: ['train', 'val', 'test'] } },
            tooltip: [{ field: 'split' }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
          },
        },
        ...(best
          ? [{ mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: { datum: best } } }]
          : []),
      ],
    },
    resolve: { scale: { y: 'independent' } },
    background: 'white',
  };
}

async function renderRun(sweep, key) {
  const d = await getJson(`/api/sweeps/${sweep}/runs/${encodeURIComponent(key)}`);
  state.run = d;
  const r = d.row;
  $('#run-title').textContent = `${key} (sweep ${sweep}: ${d.config.name})`;
  const facts = [
    ['status', r.status],
    ['test accuracy', pct(r.testAccuracy) || '–'],
    ['best val accuracy', pct(r.bestValAccuracy) || '–'],
    ['best epoch', r.bestEpoch ?? '–'],
    ['epochs', r.epochs ?? '–'],
    ['seconds', num(r.seconds) || '–'],
    ['seed', d.seed ?? '–'],
    ['host', r.host ?? '–'],
    ['poison', d.poisonKey ?? 'none (clean)'],
    ['budget fraction used', d.poison?.budgetFraction == null ? '–' : pct(d.poison.budgetFraction)],
    ...(r.error ? [['error', r.error]] : []),
  ];
  $('#run-summary').replaceChildren(
    el(
      'table',
      {},
      ...facts.map(([k, v]) =>
        el('tr', {}, el('th', { class: 'text' }, k), el('td', { class: 'text', 'data-k': k }, v)),
      ),
    ),
  );
  const curves = $('#run-curves');
  if (d.epochs.length === 0)
    curves.replaceChildren(el('p', {}, 'No per-epoch history stored for this run (yet).'));
  else await vegaEmbed(curves, curvesSpec(d.epochs, r.bestEpoch), { renderer: 'svg', actions: false });
  $('#run-poison').textContent = d.poison ? JSON.stringify(d.poison.report, null, 2) : '–';
  $('#run-config').textContent = JSON.stringify(d.config, null, 2);
  state.renders.run++;
}

// ---- routing and live updates ----

function currentRoute() {
  const [view, sweep, key] = location.hash.slice(1).split('/');
  return {
    view: view || 'overview',
    sweep: Number(sweep ?? 0),
    key: key ? decodeURIComponent(key) : undefined,
  };
}

async function show() {
  const route = currentRoute();
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== `view-${route.view}`;
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.dataset.view === route.view);
  await refreshView(route);
}

async function refreshView(route = currentRoute()) {
  try {
    if (route.view === 'overview') renderOverview();
    else if (route.view === 'width') await renderWidth();
    else if (route.view === 'runs') await loadRuns();
    else if (route.view === 'run' && route.key !== undefined) await renderRun(route.sweep, route.key);
  } catch (e) {
    console.error(e);
  }
}

async function loadSweeps() {
  const body = await getJson('/api/sweeps');
  state.sweeps = body.sweeps;
  state.metrics = body.metrics;
}

let pending = null;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(async () => {
    pending = null;
    await loadSweeps();
    renderOverview();
    const route = currentRoute();
    if (route.view !== 'overview') await refreshView(route);
    $('#live').textContent = `live · updated ${new Date().toLocaleTimeString()}`;
  }, 250);
}

function connect() {
  const events = new EventSource('/api/events');
  const live = $('#live');
  events.addEventListener('hello', () => {
    live.className = 'live on';
    live.textContent = 'live';
  });
  events.addEventListener('change', scheduleRefresh);
  events.addEventListener('tick', scheduleRefresh);
  events.onerror = () => {
    live.className = 'live off';
    live.textContent = 'disconnected (retrying)';
  };
}

async function main() {
  await loadSweeps();
  renderWidthControls();
  const runsSweep = $('#runs-sweep');
  for (const s of state.sweeps) runsSweep.append(el('option', { value: s.index }, `${s.index}: ${s.name}`));
  runsSweep.addEventListener('change', () => {
    state.runsSweep = Number(runsSweep.value);
    for (const f of FILTERS) $(`#f-${f}`).value = '';
    loadRuns();
  });
  for (const f of FILTERS) $(`#f-${f}`).addEventListener('change', renderRuns);
  $('#width-metric').addEventListener('change', renderWidth);
  $('#width-band').addEventListener('change', renderWidth);
  $('#export-png').addEventListener('click', () => exportChart('png'));
  $('#export-svg').addEventListener('click', () => exportChart('svg'));
  $('#export-csv').addEventListener('click', exportCsv);
  window.addEventListener('hashchange', show);
  renderOverview();
  await show();
  connect();
  document.body.dataset.ready = 'true';
}

main();
