// The page: loads files, hands them to the worker, and shows what it finds. No network use
// beyond this page's own files; nothing is uploaded anywhere.
const $ = (selector) => document.querySelector(selector);
const SEVERITY_IDS = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };
const STAGE_COLUMNS = ['ip', 'target', 'user', 'app', 'mailbox'];
const COLUMN_TITLES = { ip: 'IP addresses', target: 'sprayed users', user: 'users', app: 'applications', mailbox: 'mailboxes' };

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const state = {
  defaults: null, // default config object
  config: {}, // the config in effect (only what differs from the defaults)
  all: [], // every finding emitted, in order (OCSF JSON text), as the CLI writes them
  latest: new Map(), // uid → latest version (parsed)
  sort: { key: 'severity', descending: true },
  selected: null,
  scans: 0,
  busy: false,
  loaded: false,
};
window.snowyowl = state; // for tests and the curious

// ---------- worker messages ----------
let validationId = 0;
worker.onmessage = ({ data }) => {
  switch (data.type) {
    case 'loaded':
      worker.postMessage({ type: 'defaults' });
      break;
    case 'defaults':
      state.defaults = JSON.parse(data.config);
      buildSettings();
      state.loaded = true;
      document.body.dataset.ready = 'true';
      break;
    case 'progress':
      showProgress(data.done, data.total, data.file);
      break;
    case 'done':
      finishScan(data);
      break;
    case 'evidence':
      if (state.selected === data.uid) showEvidence(data.records);
      break;
    case 'validation':
      if (data.id === validationId) showValidation(data.error);
      break;
    case 'error':
      state.busy = false;
      $('#progress-box').hidden = true;
      showMessage(data.message, 'error');
      break;
  }
};
worker.onerror = (event) => showMessage(`the scanner failed: ${event.message}`, 'error');

// ---------- loading ----------
function configText() {
  return JSON.stringify(state.config);
}

function startScan(files) {
  if (files.length === 0) return;
  state.busy = true;
  showMessage('');
  showProgress(0, files.reduce((s, f) => s + (f.size ?? f.bytes?.length ?? 0), 0), files[0].name);
  worker.postMessage({ type: 'scan', files, config: configText() });
}

$('#files').addEventListener('change', (event) => startScan([...event.target.files]));
const drop = $('#drop');
drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  startScan([...event.dataTransfer.files]);
});
$('#bundled').addEventListener('click', async () => {
  const response = await fetch('scenario/midnight-blizzard.ndjson');
  if (!response.ok) return showMessage(`could not load the bundled scenario (${response.status})`, 'error');
  const bytes = new Uint8Array(await response.arrayBuffer());
  startScan([{ name: 'midnight-blizzard.ndjson', bytes, size: bytes.length }]);
});

function showProgress(done, total, file) {
  $('#progress-box').hidden = false;
  $('#progress').value = total ? done / total : 0;
  $('#progress-text').textContent = `${file}: ${(done / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MB`;
}

function showMessage(text, kind = 'info') {
  const box = $('#message');
  box.hidden = !text;
  box.className = kind;
  box.textContent = text;
}

function finishScan({ results, closing, stats }) {
  state.busy = false;
  state.scans += 1;
  state.stats = stats;
  $('#progress-box').hidden = true;
  state.all = results.flatMap((r) => r.findings).concat(closing);
  state.latest = new Map();
  for (const text of state.all) {
    const finding = JSON.parse(text);
    const previous = state.latest.get(finding.finding_info.uid);
    finding._updates = (previous?._updates ?? 0) + 1;
    state.latest.set(finding.finding_info.uid, finding);
  }
  const problems = [];
  for (const r of results) {
    if (r.error) problems.push(`${r.name}: could not be read: ${r.error}`);
    else if (r.accepted === 0 && r.rejected_total > 0) {
      const first = r.rejected[0];
      problems.push(`${r.name}: no Entra ID / M365 events found; ${r.rejected_total} of ${r.records} records rejected (first: line ${first.line}: ${first.kind}: ${first.reason})`);
    } else if (r.accepted === 0) problems.push(`${r.name}: no records found (empty file?)`);
  }
  showMessage(problems.join('\n'), problems.length ? 'error' : 'info');
  renderSummary(results, stats);
  renderTimeline();
  renderGraph();
  renderTable();
  renderRejections(results);
  $('#results').hidden = false;
  document.body.dataset.scans = String(state.scans);
}

// ---------- summary ----------
function renderSummary(results, stats) {
  const bySeverity = {};
  for (const f of state.latest.values()) bySeverity[f.severity] = (bySeverity[f.severity] ?? 0) + 1;
  const parts = ['Critical', 'High', 'Medium', 'Low', 'Informational']
    .filter((s) => bySeverity[s])
    .map((s) => `<span class="sev sev-${s.toLowerCase()}">${bySeverity[s]} ${s.toLowerCase()}</span>`);
  const rejected = results.reduce((s, r) => s + r.rejected_total, 0);
  $('#summary').innerHTML = `
    <p><strong>${results.length}</strong> file(s), <strong>${stats.records.toLocaleString()}</strong> records,
    <strong>${stats.accepted.toLocaleString()}</strong> events, <strong>${rejected.toLocaleString()}</strong> rejected ·
    <strong id="finding-count">${state.latest.size}</strong> findings ${parts.join(' ')}</p>`;
}

// ---------- findings table ----------
function entities(finding) {
  const values = (finding.observables ?? []).map((o) => o.value);
  const unique = [...new Set(values)];
  return unique.length > 3 ? `${unique.slice(0, 3).join(', ')} +${unique.length - 3}` : unique.join(', ');
}

function began(finding) {
  return finding.finding_info.first_seen_time ?? finding.time;
}

function rowValue(finding, key) {
  switch (key) {
    case 'severity':
      return finding.severity_id;
    case 'detector':
      return finding.finding_info.analytic.uid;
    case 'time':
      return finding.time;
    case 'entities':
      return entities(finding);
    default:
      return finding.finding_info.title;
  }
}

function renderTable() {
  const text = $('#filter').value.trim().toLowerCase();
  const minimum = Number($('#severity-filter').value);
  const { key, descending } = state.sort;
  const rows = [...state.latest.values()]
    .filter((f) => f.severity_id >= minimum)
    .filter((f) => !text || JSON.stringify([f.finding_info, f.observables]).toLowerCase().includes(text))
    .sort((a, b) => {
      // Ties: the finding that began first, whichever way the column sorts.
      const [x, y] = [rowValue(a, key), rowValue(b, key)];
      const order = x < y ? -1 : x > y ? 1 : 0;
      return (descending ? -order : order) || began(a) - began(b);
    });
  const body = $('#findings tbody');
  body.replaceChildren(
    ...rows.map((f) => {
      const tr = document.createElement('tr');
      tr.dataset.uid = f.finding_info.uid;
      tr.dataset.detector = f.finding_info.analytic.uid;
      tr.tabIndex = 0;
      const cells = [
        [f.severity, `sev sev-${f.severity.toLowerCase()}`],
        [f.finding_info.analytic.uid, ''],
        [new Date(f.time).toISOString().replace('T', ' ').slice(0, 19), 'time'],
        [entities(f), 'entities'],
        [f.finding_info.title + (f._updates > 1 ? ` (${f._updates} updates)` : ''), ''],
      ];
      for (const [value, cls] of cells) {
        const td = document.createElement('td');
        td.textContent = value;
        if (cls) td.className = cls;
        tr.append(td);
      }
      tr.addEventListener('click', () => openDetail(f));
      tr.addEventListener('keydown', (e) => e.key === 'Enter' && openDetail(f));
      return tr;
    }),
  );
  for (const th of document.querySelectorAll('#findings th')) {
    th.setAttribute('aria-sort', th.dataset.key === key ? (descending ? 'descending' : 'ascending') : 'none');
  }
}

for (const th of document.querySelectorAll('#findings th')) {
  th.addEventListener('click', () => {
    const same = state.sort.key === th.dataset.key;
    state.sort = { key: th.dataset.key, descending: same ? !state.sort.descending : true };
    renderTable();
  });
}
$('#filter').addEventListener('input', renderTable);
$('#severity-filter').addEventListener('change', renderTable);
$('#export').addEventListener('click', () => {
  download(new Blob(state.all.map((line) => line + '\n'), { type: 'application/x-ndjson' }), 'snowyowl-findings.ndjson');
});

/** Saves `blob` as a file named `name` (nothing leaves the machine). */
function download(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// ---------- detail ----------
function openDetail(finding) {
  state.selected = finding.finding_info.uid;
  const ids = (finding.evidences ?? []).map((e) => e.data?.event_uid).filter(Boolean);
  const body = $('#detail-body');
  body.innerHTML = '';
  const title = document.createElement('h2');
  title.textContent = finding.finding_info.title;
  const meta = document.createElement('p');
  meta.innerHTML = `<span class="sev sev-${finding.severity.toLowerCase()}">${finding.severity}</span> `;
  const tenant = finding.cloud?.account?.uid
    ?? (finding.unmapped?.tenants ? `across ${finding.unmapped.tenants.join(', ')}` : 'none named');
  meta.append(`${finding.finding_info.analytic.uid} · tenant ${tenant} · ${new Date(finding.time).toISOString()} · ${finding.message}`);
  const attacks = document.createElement('p');
  attacks.textContent = (finding.finding_info.attacks ?? [])
    .map((a) => `${a.tactic?.name}: ${(a.sub_technique ?? a.technique)?.uid} ${(a.sub_technique ?? a.technique)?.name}`)
    .join(' · ');
  const evidenceTitle = document.createElement('h3');
  evidenceTitle.textContent = `Evidence events (${ids.length})`;
  const evidence = document.createElement('div');
  evidence.id = 'evidence';
  evidence.textContent = ids.length ? 'looking up…' : 'none';
  const ocsfTitle = document.createElement('h3');
  ocsfTitle.textContent = 'OCSF Detection Finding';
  const pre = document.createElement('pre');
  pre.id = 'ocsf';
  const { _updates, ...plain } = finding;
  pre.textContent = JSON.stringify(plain, null, 2);
  body.append(title, meta, attacks, evidenceTitle, evidence, ocsfTitle, pre);
  $('#detail').hidden = false;
  if (ids.length) worker.postMessage({ type: 'evidence', uid: state.selected, ids: ids.slice(0, 200) });
}

function showEvidence(records) {
  const box = $('#evidence');
  const entries = Object.entries(records);
  box.textContent = entries.length ? '' : 'not found in the loaded files';
  for (const [id, text] of entries) {
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = id;
    const pre = document.createElement('pre');
    try {
      pre.textContent = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      pre.textContent = text;
    }
    details.append(summary, pre);
    box.append(details);
  }
}
$('#detail-close').addEventListener('click', () => {
  $('#detail').hidden = true;
  state.selected = null;
});
document.addEventListener('keydown', (e) => e.key === 'Escape' && $('#detail-close').click());

// ---------- incidents timeline (plain SVG) ----------
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attributes = {}, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  if (text !== undefined) element.textContent = text;
  return element;
}

function incidents() {
  return [...state.latest.values()].filter((f) => f.finding_info.analytic.uid === 'attack-chain');
}

function renderTimeline() {
  const box = $('#timeline');
  box.replaceChildren();
  const list = incidents().sort((a, b) => b.severity_id - a.severity_id);
  if (list.length === 0) {
    box.textContent = 'No linked incident: the findings did not chain.';
    return;
  }
  for (const incident of list) {
    const stages = incident.unmapped?.stages ?? [];
    const start = Math.min(...stages.map((s) => s.first_seen));
    const end = Math.max(...stages.map((s) => s.last_seen), start + 1);
    const width = 960;
    const height = 70 + stages.length * 34;
    const x = (t) => 20 + ((t - start) / (end - start)) * (width - 40);
    const figure = document.createElement('figure');
    figure.className = 'incident';
    figure.dataset.uid = incident.finding_info.uid;
    const caption = document.createElement('figcaption');
    caption.innerHTML = `<span class="sev sev-${incident.severity.toLowerCase()}">${incident.severity}</span> `;
    caption.append(incident.finding_info.title);
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': incident.finding_info.title });
    chart.append(svg('line', { x1: 20, x2: width - 20, y1: height - 24, y2: height - 24, class: 'axis' }));
    chart.append(svg('text', { x: 20, y: height - 6, class: 'tick' }, new Date(start).toISOString().slice(0, 16).replace('T', ' ')));
    chart.append(svg('text', { x: width - 20, y: height - 6, class: 'tick', 'text-anchor': 'end' }, new Date(end).toISOString().slice(0, 16).replace('T', ' ')));
    stages.forEach((stage, i) => {
      const y = 20 + i * 34;
      const x1 = x(stage.first_seen);
      const x2 = Math.max(x(stage.last_seen), x1 + 6);
      const group = svg('g', { class: `stage stage-${stage.stage}` });
      group.append(svg('rect', { x: x1, y, width: x2 - x1, height: 18, rx: 4 }));
      const label = `${stage.stage}: ${stage.findings.map((f) => f.detector).join(', ')}`;
      // Labels go right of their bar, or left of it in the right half, to stay in the picture.
      const right = x2 < width / 2;
      group.append(svg('text', { x: right ? x2 + 8 : x1 - 8, y: y + 13, 'text-anchor': right ? 'start' : 'end' }, label));
      group.append(svg('title', {}, stage.findings.map((f) => f.title).join('\n')));
      chart.append(group);
    });
    figure.append(caption, chart);
    box.append(figure);
  }
}

// ---------- entity graph (plain SVG, columns IPs → users → apps → mailboxes) ----------
function graphEdges() {
  const chains = incidents().sort((a, b) => b.severity_id - a.severity_id);
  if (chains.length && chains[0].unmapped?.graph?.edges) {
    return chains[0].unmapped.graph.edges.map((e) => [e.from, e.to]);
  }
  // No chain: link the entities each finding names.
  const edges = [];
  const kind = (o) => (o.type_id === 2 ? 'ip' : o.type_id === 5 ? 'mailbox' : o.type_id === 10 ? 'app' : 'user');
  for (const f of state.latest.values()) {
    const nodes = [...new Set((f.observables ?? []).map((o) => `${kind(o)}:${o.value}`))];
    for (let i = 1; i < nodes.length && i < 40; i++) edges.push([nodes[0], nodes[i]]);
  }
  return edges;
}

function renderGraph() {
  const box = $('#graph');
  box.replaceChildren();
  const edges = graphEdges().filter(([a, b]) => a !== b);
  if (edges.length === 0) {
    box.textContent = 'No entities linked.';
    return;
  }
  const degree = new Map();
  for (const [a, b] of edges) for (const n of [a, b]) degree.set(n, (degree.get(n) ?? 0) + 1);
  const columns = STAGE_COLUMNS.map((kind) => {
    const nodes = [...degree.keys()].filter((n) => n.startsWith(`${kind}:`)).sort((a, b) => degree.get(b) - degree.get(a));
    return { kind, shown: nodes.slice(0, 14), hidden: Math.max(0, nodes.length - 14) };
  }).filter((c) => c.shown.length);
  const width = 960;
  const rowHeight = 22;
  const height = 50 + rowHeight * Math.max(...columns.map((c) => c.shown.length + (c.hidden ? 1 : 0)));
  const position = new Map();
  columns.forEach((c, i) => {
    const x = 20 + (i * (width - 200)) / Math.max(1, columns.length - 1);
    c.shown.forEach((n, j) => position.set(n, [x, 40 + j * rowHeight]));
    c.x = x;
  });
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'entity graph' });
  const seen = new Set();
  for (const [a, b] of edges) {
    const [p, q] = [position.get(a), position.get(b)];
    const key = `${a}|${b}`;
    if (!p || !q || seen.has(key) || p[0] === q[0]) continue;
    seen.add(key);
    chart.append(svg('line', { x1: p[0] + 6, y1: p[1], x2: q[0] - 6, y2: q[1], class: 'edge' }));
  }
  for (const c of columns) {
    chart.append(svg('text', { x: c.x, y: 16, class: 'column' }, COLUMN_TITLES[c.kind]));
    for (const n of c.shown) {
      const [x, y] = position.get(n);
      const group = svg('g', { class: `node node-${c.kind}` });
      group.append(svg('circle', { cx: x, cy: y, r: 5 }));
      const name = n.slice(n.indexOf(':') + 1);
      group.append(svg('text', { x: x + 9, y: y + 4 }, name.length > 28 ? name.slice(0, 27) + '…' : name));
      group.append(svg('title', {}, name));
      chart.append(group);
    }
    if (c.hidden) chart.append(svg('text', { x: c.x + 9, y: 44 + c.shown.length * rowHeight, class: 'more' }, `+${c.hidden} more`));
  }
  box.append(chart);
}

// ---------- rejections ----------
function renderRejections(results) {
  const box = $('#rejections');
  const total = results.reduce((s, r) => s + r.rejected_total, 0);
  if (total === 0) {
    box.textContent = 'None: every record was read.';
    return;
  }
  const byKind = {};
  for (const r of results) for (const [k, n] of Object.entries(r.rejected_by_kind)) byKind[k] = (byKind[k] ?? 0) + n;
  const list = document.createElement('ul');
  for (const r of results.flatMap((r) => r.rejected).slice(0, 100)) {
    const li = document.createElement('li');
    li.textContent = `${r.file}:${r.line}: ${r.kind}: ${r.reason}`;
    list.append(li);
  }
  const counts = document.createElement('p');
  counts.id = 'rejection-counts';
  counts.textContent = `${total} rejected: ` + Object.entries(byKind).map(([k, n]) => `${n} ${k}`).join(', ');
  box.replaceChildren(counts, list);
}

// ---------- settings ----------
function flatten(object, prefix = '', out = []) {
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) flatten(value, path, out);
    else out.push([path, value]);
  }
  return out;
}

function buildSettings() {
  const form = $('#settings-form');
  form.replaceChildren();
  const groups = new Map();
  for (const [path, value] of flatten(state.defaults)) {
    const parts = path.split('.');
    const group = parts[0] === 'detectors' ? parts[1] : parts.length > 1 ? parts[0] : 'engine';
    if (!groups.has(group)) {
      const fieldset = document.createElement('fieldset');
      const legend = document.createElement('legend');
      legend.textContent = group;
      fieldset.append(legend);
      fieldset.dataset.group = group;
      groups.set(group, fieldset);
      form.append(fieldset);
    }
    const label = document.createElement('label');
    const name = document.createElement('span');
    name.textContent = parts.at(-1);
    let input;
    if (typeof value === 'boolean') {
      input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = value;
    } else if (Array.isArray(value)) {
      input = document.createElement('textarea');
      input.rows = 2;
      input.placeholder = value.some((v) => typeof v === 'object') ? 'JSON array' : 'one per line';
      input.value = value.every((v) => typeof v !== 'object') ? value.join('\n') : JSON.stringify(value);
    } else if (path.endsWith('.severity')) {
      input = document.createElement('select');
      for (const option of ['', 'informational', 'low', 'medium', 'high', 'critical']) {
        input.append(new Option(option || "detector's own", option));
      }
      input.value = value ?? '';
    } else {
      input = document.createElement('input');
      input.type = 'text';
      input.value = value ?? '';
      input.inputMode = typeof value === 'number' ? 'numeric' : 'text';
    }
    input.dataset.path = path;
    input.name = path;
    input.addEventListener('input', scheduleValidation);
    input.addEventListener('change', scheduleValidation);
    const error = document.createElement('span');
    error.className = 'field-error';
    error.setAttribute('aria-live', 'polite');
    label.append(name, input, error);
    groups.get(group).append(label);
  }
  const general = document.createElement('p');
  general.className = 'field-error';
  general.id = 'config-error';
  form.prepend(general);
}

function readField(input, fallback) {
  if (input.type === 'checkbox') return input.checked;
  if (input.tagName === 'SELECT') return input.value || null;
  if (input.tagName === 'TEXTAREA') {
    const text = input.value.trim();
    if (Array.isArray(fallback) && fallback.some((v) => typeof v === 'object')) return text ? tryJson(text) : [];
    if (text.startsWith('[')) return tryJson(text);
    return text ? text.split('\n').map((s) => s.trim()).filter(Boolean) : [];
  }
  const text = input.value.trim();
  if (typeof fallback === 'number' && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

function tryJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the engine's validation says what is wrong, at this field
  }
}

function formConfig() {
  const config = {};
  const defaults = new Map(flatten(state.defaults));
  for (const input of document.querySelectorAll('#settings-form [data-path]')) {
    const path = input.dataset.path;
    const fallback = defaults.get(path);
    const value = readField(input, fallback);
    if (JSON.stringify(value) === JSON.stringify(fallback)) continue;
    let node = config;
    const parts = path.split('.');
    for (const part of parts.slice(0, -1)) node = node[part] ??= {};
    node[parts.at(-1)] = value;
  }
  return config;
}

let validationTimer = null;
let pendingValid = null;
function scheduleValidation() {
  clearTimeout(validationTimer);
  validationTimer = setTimeout(() => {
    validationId += 1;
    pendingValid = formConfig();
    worker.postMessage({ type: 'validate', config: JSON.stringify(pendingValid), id: validationId });
  }, 150);
}

function showValidation(error) {
  for (const span of document.querySelectorAll('#settings-form .field-error')) span.textContent = '';
  for (const input of document.querySelectorAll('#settings-form [aria-invalid]')) input.removeAttribute('aria-invalid');
  $('#apply').disabled = Boolean(error);
  $('#settings').dataset.valid = error ? 'false' : 'true';
  if (!error) return;
  const colon = error.indexOf(': ');
  const path = colon > 0 ? error.slice(0, colon) : '';
  let input = null;
  // The longest field path the error's path starts with (array items add `[n]`).
  for (const candidate of document.querySelectorAll('#settings-form [data-path]')) {
    const p = candidate.dataset.path;
    if ((path === p || path.startsWith(p + '.') || path.startsWith(p + '[')) && (!input || p.length > input.dataset.path.length)) input = candidate;
  }
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.parentElement.querySelector('.field-error').textContent = error.slice(colon + 2);
  } else {
    $('#config-error').textContent = error;
  }
}

$('#settings-toggle').addEventListener('click', () => {
  const panel = $('#settings');
  panel.hidden = !panel.hidden;
  $('#settings-toggle').setAttribute('aria-expanded', String(!panel.hidden));
});
$('#apply').addEventListener('click', () => {
  state.config = formConfig();
  if (!state.busy && state.scans > 0) {
    state.busy = true;
    worker.postMessage({ type: 'rescan', config: configText() });
  }
});
$('#reset').addEventListener('click', () => {
  buildSettings();
  scheduleValidation();
});
$('#download-config').addEventListener('click', () => {
  download(new Blob([JSON.stringify(formConfig(), null, 2) + '\n'], { type: 'application/json' }), 'snowyowl-config.json');
});
