// oxq dashboard pages: plain JavaScript drawing every view from the JSON API under ./api
// (no framework, no build step; embedded in the binary by crates/oxq-dashboard/src/pages.rs).
// Views are chosen by the URL's hash:
//   #/                          every queue: counts per state, the last hour's chart, paused
//   #/queues/Q?state=S&page=N   a queue's jobs in state S, 20 a page, with the queue's actions
//                               and its workers (when GET api/queues/Q/workers answers)
//   #/queues/Q/schedulers       a queue's job schedulers and their next runs
//   #/queues/Q/dead-letters     the dead jobs Q holds as a dead letter queue (replay, purge),
//                               and where Q sends its own
//   #/queues/Q/jobs/ID          one job: data, options, progress, logs, every attempt's error,
//                               timestamps, parent and children as a tree, durable steps,
//                               and its actions
//   #/search?id=ID | ?text=T    search by job id, or by a text in the jobs' data
// Job data is only ever put in the page as text (textContent), never as HTML.
'use strict';

// where the app serves the dashboard, ending in '/' (the page is at BASE, or BASE without its
// slash when an app nests the router under a path)
const BASE = document.querySelector('meta[name="oxq-base"]').content;
const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed'];
const PAGE_SIZE = 20;
// the states a job can be cancelled in (an active one: its worker is told at its next lock renewal)
const CANCELLABLE = ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'];
const REFRESH_MS = 3000;
let config = { read_only: true, hide_data: true, auth: null, store: '', prefix: '' };
let renderGeneration = 0;

// ---- talking to the API ----

class ApiError extends Error {}

async function api(path, options = {}) {
  const response = await fetch(BASE + 'api/' + path, {
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
    ...options,
  });
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (response.status === 401) {
    // the cookie expired or was cleared: the page itself shows the login form again
    location.reload();
    throw new ApiError('log in again');
  }
  if (!response.ok) {
    throw new ApiError((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

const enc = encodeURIComponent;
const queuePath = (queue) => `queues/${enc(queue)}`;
const jobPath = (queue, id) => `queues/${enc(queue)}/jobs/${enc(id)}`;
const jobHref = (queue, id) => `#/queues/${enc(queue)}/jobs/${enc(id)}`;
const stateHref = (queue, state, page = 0) => `#/queues/${enc(queue)}?state=${enc(state)}&page=${page}`;

// ---- building the page ----

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  append(node, children);
  return node;
}

function flash(message, kind) {
  const el = document.getElementById('flash');
  el.textContent = message;
  el.className = kind || '';
}

function stateBadge(state, id) {
  return h('span', { class: `state state-${state}`, 'data-state': state, id }, state);
}

function when(ms) {
  if (ms === null || ms === undefined) return h('span', { class: 'muted' }, '—');
  const date = new Date(ms);
  return h('time', { datetime: date.toISOString(), title: date.toISOString() },
    `${date.toLocaleString()} (${relative(ms)})`);
}

function relative(ms) {
  const seconds = Math.round((ms - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const [amount, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min']
    : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  return seconds >= 0 ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
}

function pretty(value) {
  return h('pre', {}, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

function payload(job, field) {
  if (job.data_hidden) return h('p', { class: 'muted' }, 'hidden on this dashboard');
  if (job[field] === null || job[field] === undefined) return h('p', { class: 'muted' }, 'none');
  return pretty(job[field]);
}

function crumbs(...parts) {
  const nav = document.getElementById('crumbs');
  nav.replaceChildren();
  parts.forEach((part, i) => {
    if (i > 0) nav.append(' / ');
    nav.append(Array.isArray(part) ? h('a', { href: part[1] }, part[0]) : part);
  });
}

// An action button: POSTs to the API, says what happened, draws the view again.
function actionButton(label, path, { confirmText, danger, done } = {}) {
  if (config.read_only) return null;
  return h('button', {
    type: 'button',
    class: danger ? 'danger' : null,
    onclick: async (event) => {
      if (confirmText && !window.confirm(confirmText)) return;
      const button = event.currentTarget;
      button.disabled = true;
      try {
        await api(path, { method: 'POST' });
        flash(`${label}: done`, 'ok');
        if (done) done();
        else render();
      } catch (error) {
        flash(`${label}: ${error.message}`, 'error');
        button.disabled = false;
      }
    },
  }, label);
}

// ---- the chart: completed and failed jobs per minute over the last hour ----

function chart(series, { width = 240, height = 40, axis = false } = {}) {
  const n = series.completed.length;
  const max = Math.max(1, ...series.completed.map((c, i) => c + series.failed[i]));
  const pad = axis ? 14 : 1;
  const plotHeight = height - pad;
  const step = width / n;
  const svg = s('svg', {
    class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': summary(series),
  });
  svg.append(s('title', {}, summary(series)));
  for (let i = 0; i < n; i++) {
    const ok = series.completed[i];
    const bad = series.failed[i];
    const okHeight = (ok / max) * plotHeight;
    const badHeight = (bad / max) * plotHeight;
    const x = i * step + 0.5;
    const w = Math.max(1, step - 1);
    const minute = new Date(series.from + i * series.minute_ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (ok > 0) {
      svg.append(s('rect', { class: 'completed', x, y: plotHeight - okHeight, width: w, height: okHeight },
        s('title', {}, `${minute}: ${ok} completed`)));
    }
    if (bad > 0) {
      svg.append(s('rect', { class: 'failed', x, y: plotHeight - okHeight - badHeight, width: w, height: badHeight },
        s('title', {}, `${minute}: ${bad} failed`)));
    }
  }
  svg.append(s('line', { class: 'axis', x1: 0, y1: plotHeight + 0.5, x2: width, y2: plotHeight + 0.5 }));
  if (axis) {
    svg.append(s('text', { x: 0, y: height - 2 }, `${Math.round(n)} min ago`));
    svg.append(s('text', { x: width, y: height - 2, 'text-anchor': 'end' }, 'now'));
    svg.append(s('text', { x: 2, y: 10 }, `${max}/min`));
  }
  return svg;
}

function totals(series) {
  const completed = series.completed.reduce((a, b) => a + b, 0);
  const failed = series.failed.reduce((a, b) => a + b, 0);
  const rate = completed + failed === 0 ? 0 : (100 * failed) / (completed + failed);
  return { completed, failed, rate };
}

function summary(series) {
  const t = totals(series);
  const minutes = series.completed.length;
  return `last ${minutes} min: ${t.completed} completed, ${t.failed} failed, failure rate ${t.rate.toFixed(1)}%`
    + ` (from ${sourceName(series)})` + (series.complete ? '' : `; ${partialNote(series)}`);
}

// Where a series' numbers come from: the workers' recorded metrics (as Node's getMetrics and
// Bull Board read them) or the finished jobs the store still holds.
function sourceName(series) {
  return series.source === 'metrics' ? 'recorded metrics' : 'finished jobs still held';
}

function partialNote(series) {
  return series.source === 'metrics' ? 'older minutes than the points kept read as 0'
    : 'only the newest finished jobs were read';
}

function legend(series) {
  const t = totals(series);
  return h('div', { class: 'legend' },
    h('span', { class: 'dot completed' }), `${t.completed} completed`,
    h('span', { class: 'dot failed' }), `${t.failed} failed`,
    ` · failure rate ${t.rate.toFixed(1)}%`,
    h('span', { class: 'muted', 'data-source': series.source }, ` · from ${sourceName(series)}`),
    series.complete ? null : ` · ${partialNote(series)}`);
}

// ---- views ----

async function overview() {
  crumbs('queues');
  const queues = await api('queues');
  const series = await Promise.all(queues.map((q) =>
    api(`${queuePath(q.name)}/throughput`).catch(() => null)));
  if (queues.length === 0) {
    return [h('h1', {}, 'Queues'), h('p', { class: 'muted' },
      `No queue holds anything under the prefix "${config.prefix}" yet.`)];
  }
  const rows = queues.map((q, i) => h('tr', { 'data-queue': q.name },
    h('td', {}, h('a', { href: `#/queues/${enc(q.name)}`, class: 'queue-link' }, q.name), ' ',
      q.paused ? h('span', { class: 'paused' }, 'paused') : null),
    STATES.map((state) => h('td', { class: 'num' },
      h('a', { href: stateHref(q.name, state), 'data-count': state }, q.counts[state]))),
    h('td', {}, series[i] ? chart(series[i]) : h('span', { class: 'muted' }, 'no series')),
    h('td', {}, series[i] ? `${totals(series[i]).rate.toFixed(1)}%` : '—'),
    h('td', {}, h('span', { class: 'actions' }, pauseButton(q, () => render()))),
  ));
  return [
    h('h1', {}, 'Queues'),
    h('table', { id: 'queues' },
      h('thead', {}, h('tr', {}, h('th', {}, 'queue'),
        STATES.map((state) => h('th', { class: 'num' }, state)),
        h('th', {}, 'last hour (completed/failed per minute)'), h('th', {}, 'failure rate'),
        h('th', {}, config.read_only ? '' : 'actions'))),
      h('tbody', {}, rows)),
    h('p', { class: 'muted' }, `Store: ${config.store} · prefix "${config.prefix}" · `
      + 'a chart reads the metrics workers record (WorkerOptions::metrics, or Node\'s metrics option) '
      + 'when they do, otherwise the finished jobs the store still holds (removed jobs are then not counted).'),
  ];
}

function pauseButton(queue, done) {
  return queue.paused
    ? actionButton('Resume', `${queuePath(queue.name)}/resume`, { done })
    : actionButton('Pause', `${queuePath(queue.name)}/pause`, { done });
}

function queueHeader(queue, current) {
  return [
    h('h1', {}, `Queue ${queue.name}`, queue.paused ? h('span', { class: 'paused', id: 'paused' }, 'paused') : null,
      h('span', { class: 'actions' }, pauseButton(queue))),
    h('nav', { class: 'tabs' },
      STATES.map((state) => h('a', {
        href: stateHref(queue.name, state),
        class: current === state ? 'current' : null,
      }, `${state} (${queue.counts[state]})`)),
      h('a', { href: `#/queues/${enc(queue.name)}/schedulers`, class: current === 'schedulers' ? 'current' : null },
        'schedulers'),
      h('a', { href: `#/queues/${enc(queue.name)}/dead-letters`, class: current === 'dead-letters' ? 'current' : null },
        'dead letters')),
  ];
}

async function queueView(name, params) {
  const queue = await api(queuePath(name));
  const state = STATES.includes(params.get('state')) ? params.get('state')
    : queue.counts.failed > 0 ? 'failed' : 'waiting';
  const page = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
  const [jobs, series, workers] = await Promise.all([
    api(`${queuePath(name)}/jobs?state=${enc(state)}&offset=${page * PAGE_SIZE}&limit=${PAGE_SIZE}`),
    api(`${queuePath(name)}/throughput`).catch(() => null),
    // workers are shown where the API and the store have them
    api(`${queuePath(name)}/workers`).catch(() => null),
  ]);
  crumbs(['queues', '#/'], name, state);
  const first = jobs.total === 0 ? 0 : page * PAGE_SIZE + 1;
  const last = page * PAGE_SIZE + jobs.jobs.length;
  return [
    queueHeader(queue, state),
    series ? h('section', { class: 'panel' }, chart(series, { width: 720, height: 120, axis: true }), legend(series)) : null,
    h('div', { class: 'pager' },
      h('span', {}, `${first}–${last} of ${jobs.total} ${state}`),
      page > 0 ? h('a', { href: stateHref(name, state, page - 1) }, '← newer') : null,
      last < jobs.total ? h('a', { href: stateHref(name, state, page + 1) }, 'older →') : null,
      cleanForm(name, state)),
    jobTable(name, state, jobs.jobs),
    workers ? workerList(workers.workers) : null,
  ];
}

function workerList(workers) {
  return [
    h('h2', {}, `Workers (${workers.length})`),
    workers.length === 0 ? h('p', { class: 'muted' }, 'No worker is serving this queue now.')
      : h('table', { id: 'workers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'address'),
          h('th', { class: 'num' }, 'running for'), h('th', { class: 'num' }, 'idle for'))),
        h('tbody', {}, workers.map((w) => h('tr', {},
          h('td', {}, w.name || h('span', { class: 'muted' }, 'unnamed')), h('td', {}, w.addr || '—'),
          h('td', { class: 'num' }, duration(w.age_ms)), h('td', { class: 'num' }, duration(w.idle_ms)))))),
  ];
}

function duration(ms) {
  if (typeof ms !== 'number') return '—';
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${Math.round(seconds / 60)} min`
    : `${(seconds / 3600).toFixed(1)} h`;
}

function cleanForm(queue, state) {
  if (config.read_only) return null;
  const grace = h('input', { type: 'number', min: 0, value: 0, 'aria-label': 'grace in seconds' });
  const button = h('button', {
    type: 'button', class: 'danger',
    onclick: async () => {
      const seconds = Math.max(0, Number(grace.value) || 0);
      if (!window.confirm(`Remove up to 1000 ${state} jobs of ${queue} older than ${seconds} s?`)) return;
      try {
        const result = await api(`${queuePath(queue)}/clean?state=${enc(state)}&grace_ms=${seconds * 1000}&limit=1000`, { method: 'POST' });
        flash(`Clean: removed ${result.removed.length} ${state} jobs`, 'ok');
        render();
      } catch (error) {
        flash(`Clean: ${error.message}`, 'error');
      }
    },
  }, `Clean ${state}`);
  return h('span', { class: 'clean' }, button, 'older than', grace, 's');
}

function jobActions(queue, job, done) {
  const path = jobPath(queue, job.id);
  return [
    job.state === 'failed' || job.state === 'completed' ? actionButton('Retry', `${path}/retry`, { done }) : null,
    job.state === 'delayed' ? actionButton('Promote', `${path}/promote`, { done }) : null,
    CANCELLABLE.includes(job.state) ? actionButton('Cancel', `${path}/cancel`, {
      confirmText: `Cancel job ${job.id} of ${queue}? It fails as "cancelled" and does not run again unless retried.`,
      danger: true, done,
    }) : null,
    job.state !== 'active' ? actionButton('Remove', `${path}/remove`, {
      confirmText: `Remove job ${job.id} of ${queue}?`, danger: true, done,
    }) : null,
  ];
}

function jobTable(queue, state, jobs) {
  if (jobs.length === 0) return h('p', { class: 'muted' }, `No ${state} jobs.`);
  const timeColumn = state === 'delayed' ? 'due' : (state === 'completed' || state === 'failed') ? 'finished' : 'added';
  return h('table', { id: 'jobs' },
    h('thead', {}, h('tr', {}, h('th', {}, 'id'), h('th', {}, 'name'), h('th', { class: 'num' }, 'attempts'),
      h('th', {}, timeColumn), h('th', {}, state === 'failed' ? 'reason' : 'data'), h('th', {}, ''))),
    h('tbody', {}, jobs.map((job) => h('tr', { 'data-job': job.id },
      h('td', {}, h('a', { href: jobHref(queue, job.id), class: 'job-link' }, job.id)),
      h('td', {}, job.name),
      h('td', { class: 'num' }, job.attempts_made),
      h('td', {}, when(timeColumn === 'due' ? job.due_at : timeColumn === 'finished' ? job.finished_on : job.timestamp)),
      h('td', {}, state === 'failed' ? (job.failed_reason || '') : shortData(job)),
      h('td', {}, h('span', { class: 'actions' }, jobActions(queue, job)))))));
}

function shortData(job) {
  if (job.data_hidden) return h('span', { class: 'muted' }, 'hidden');
  const text = JSON.stringify(job.data);
  return h('code', { title: text }, text.length > 80 ? text.slice(0, 77) + '…' : text);
}

async function schedulersView(name) {
  const queue = await api(queuePath(name));
  const list = await api(`${queuePath(name)}/schedulers`).catch((error) => ({ error: error.message }));
  crumbs(['queues', '#/'], name, 'schedulers');
  if (list.error) return [queueHeader(queue, 'schedulers'), h('p', { class: 'muted' }, list.error)];
  return [
    queueHeader(queue, 'schedulers'),
    list.schedulers.length === 0 ? h('p', { class: 'muted' }, 'No job schedulers.')
      : h('table', { id: 'schedulers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'id'), h('th', {}, 'job name'), h('th', {}, 'repeat'),
          h('th', {}, 'next run'), h('th', { class: 'num' }, 'runs so far'), h('th', {}, 'data'))),
        h('tbody', {}, list.schedulers.map((s) => h('tr', {},
          h('td', {}, s.id), h('td', {}, s.name), h('td', {}, h('code', {}, JSON.stringify(s.repeat))),
          h('td', {}, when(s.next_run)), h('td', { class: 'num' }, s.iterations ?? '—'),
          h('td', {}, shortData(s)))))),
    h('p', { class: 'muted' }, `${list.total} schedulers, soonest next run first.`),
  ];
}

async function jobView(queue, id) {
  const job = await api(jobPath(queue, id));
  crumbs(['queues', '#/'], [queue, `#/queues/${enc(queue)}`], [job.state, stateHref(queue, job.state)], id);
  // how many times it ran and why (the API's `runs`)
  const runs = job.runs;
  return [
    h('h1', {}, `Job ${job.id}`, stateBadge(job.state, 'job-state'),
      h('span', { class: 'actions' }, jobActions(queue, job, () => render()))),
    h('section', { class: 'panel' },
      h('dl', { class: 'facts' },
        h('dt', {}, 'queue'), h('dd', {}, h('a', { href: `#/queues/${enc(queue)}` }, queue)),
        h('dt', {}, 'name'), h('dd', {}, job.name),
        h('dt', {}, 'progress'), h('dd', {}, progress(job.progress)),
        h('dt', {}, 'attempts'), h('dd', { id: 'job-runs' }, `ran ${runs.started} time(s): ${runs.ended} attempt(s) ended`
          + (job.options && job.options.attempts ? ` (of ${job.options.attempts} allowed)` : '')
          + (runs.running ? ', one running now' : '')),
        h('dt', {}, 're-runs'), h('dd', { id: 'job-reruns' },
          `${runs.after_stall} after a stall (its worker died, froze or lost its lock: effects may have happened twice)`
          + (runs.handed_back > 0 ? `; ${runs.handed_back} handed back without using an attempt`
            + ' (delayed, rate limited or waiting for children by its processor, or given back by a closing worker)' : '')),
        h('dt', {}, 'added'), h('dd', {}, when(job.timestamp)),
        h('dt', {}, 'last started'), h('dd', {}, when(job.processed_on)),
        h('dt', {}, 'finished'), h('dd', {}, when(job.finished_on)),
        job.due_at ? [h('dt', {}, 'due'), h('dd', {}, when(job.due_at))] : null,
        h('dt', {}, 'worker'), h('dd', {}, job.processed_by || h('span', { class: 'muted' }, '—')))),
    h('h2', {}, 'Data'), payload(job, 'data'),
    job.state === 'completed' ? [h('h2', {}, 'Return value'), payload(job, 'return_value')] : null,
    attemptErrors(job),
    stepList(job),
    h('h2', {}, `Logs (${job.logs.total})`),
    job.logs.lines.length === 0 ? h('p', { class: 'muted' }, 'No log lines.')
      : h('pre', { id: 'logs' }, job.logs.lines.join('\n')),
    job.logs.total > job.logs.lines.length ? h('p', { class: 'muted' }, `the first ${job.logs.lines.length} of ${job.logs.total} lines`) : null,
    h('h2', {}, 'Parent and children'), await familyTree(queue, job),
    h('h2', {}, 'Options'), pretty(job.options),
  ];
}

function progress(value) {
  if (typeof value === 'number') {
    const bar = h('span', {});
    bar.style.width = `${Math.max(0, Math.min(100, value))}%`; // CSSOM: allowed by the page's policy
    return h('span', {}, h('span', { class: 'progress' }, bar), `${value}%`);
  }
  return h('code', {}, JSON.stringify(value));
}

function attemptErrors(job) {
  const errors = job.stacktrace || [];
  if (errors.length === 0 && !job.failed_reason) return null;
  return [
    h('h2', {}, `Errors (${errors.length} failed attempt${errors.length === 1 ? '' : 's'})`),
    job.failed_reason ? h('p', {}, 'Last reason: ', h('strong', { id: 'failed-reason' }, job.failed_reason)) : null,
    errors.map((trace, i) => h('div', { class: 'attempt' }, h('h3', {}, `Attempt ${i + 1}`), h('pre', {}, trace))),
  ];
}

// The job's durable steps (name, status, attempts, result or last error) and the signals sent
// to it; nothing when the job never used steps.
function stepList(job) {
  const steps = job.steps;
  if (!steps || (steps.steps.length === 0 && steps.signals.length === 0)) return null;
  const outcome = (step) => {
    if (step.status === 'failed') return h('span', { class: 'error' }, step.error || '');
    if (step.status === 'sleeping') return ['until ', when(step.until)];
    if (step.status === 'waiting') return [`signal "${step.signal}" until `, when(step.until)];
    if (step.data_hidden) return h('span', { class: 'muted' }, 'hidden');
    const text = JSON.stringify(step.result);
    return h('code', { title: text }, text.length > 120 ? text.slice(0, 117) + '…' : text);
  };
  return [
    h('h2', {}, `Steps (${steps.steps.length})`),
    h('table', { id: 'steps' },
      h('thead', {}, h('tr', {}, h('th', {}, 'step'), h('th', {}, 'status'),
        h('th', { class: 'num' }, 'attempts'), h('th', {}, 'result or error'))),
      h('tbody', {}, steps.steps.map((step) => h('tr', { 'data-step': step.name },
        h('td', {}, step.name), h('td', {}, stateBadge(step.status)),
        h('td', { class: 'num' }, step.attempts ?? '—'), h('td', {}, outcome(step)))))),
    steps.signals.length === 0 ? null : h('p', {}, 'Signals received: ',
      steps.signals.map((signal, i) => [i > 0 ? ', ' : '', h('code', {}, signal.name),
        signal.data_hidden ? '' : ` = ${JSON.stringify(signal.payload)}`])),
  ];
}

// the dead jobs ticked in the dead letter view, kept across its live refreshes
const deadSelection = new Set();

async function deadLettersView(name, params) {
  const queue = await api(queuePath(name));
  const page = Math.max(0, parseInt(params.get('page') || '0', 10) || 0);
  const list = await api(`${queuePath(name)}/dead-letters?offset=${page * PAGE_SIZE}&limit=${PAGE_SIZE}`)
    .catch((error) => ({ error: error.message }));
  crumbs(['queues', '#/'], name, 'dead letters');
  if (list.error) return [queueHeader(queue, 'dead-letters'), h('p', { class: 'muted' }, list.error)];
  const href = (n) => `#/queues/${enc(name)}/dead-letters?page=${n}`;
  const base = `${queuePath(name)}/dead-letters`;
  const key = (id) => `${name}\u0000${id}`;
  const shown = new Set(list.dead_letters.map((dead) => key(dead.id)));
  for (const k of [...deadSelection]) if (!shown.has(k)) deadSelection.delete(k);
  const selected = () => list.dead_letters.filter((dead) => deadSelection.has(key(dead.id))).map((dead) => dead.id);
  const bulk = (label, path, body, confirmText) => config.read_only ? null : h('button', {
    type: 'button', class: label.startsWith('Purge') ? 'danger' : null, id: label.toLowerCase().replace(/ /g, '-'),
    onclick: async () => {
      const payload = body();
      if (!payload) return flash(`${label}: select dead jobs first`, 'error');
      if (confirmText && !window.confirm(confirmText)) return;
      try {
        const result = await api(path, {
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
        flash(`${label}: ${result.purged !== undefined ? `${result.purged} purged` : `${result.replayed} replayed`}`, 'ok');
        render();
      } catch (error) {
        flash(`${label}: ${error.message}`, 'error');
      }
    },
  }, label);
  const ids = () => (selected().length ? { ids: selected() } : null);
  const first = list.total === 0 ? 0 : page * PAGE_SIZE + 1;
  const last = page * PAGE_SIZE + list.dead_letters.length;
  return [
    queueHeader(queue, 'dead-letters'),
    h('p', {}, list.dead_letter_queue
      ? ['Jobs of this queue that fail for good are copied to ',
        h('a', { href: `#/queues/${enc(list.dead_letter_queue)}/dead-letters` }, list.dead_letter_queue), '.']
      : h('span', { class: 'muted' }, 'This queue sends its dead jobs nowhere (no dead letter queue is set).')),
    h('h2', {}, `Dead jobs held here (${list.total})`),
    list.dead_letters.length === 0 ? h('p', { class: 'muted' }, 'No dead jobs.') : [
      h('div', { class: 'pager' },
        h('span', {}, `${first}–${last} of ${list.total}`),
        page > 0 ? h('a', { href: href(page - 1) }, '← previous') : null,
        last < list.total ? h('a', { href: href(page + 1) }, 'next →') : null,
        h('span', { class: 'actions' },
          bulk('Replay selected', `${base}/replay`, ids),
          bulk('Purge selected', `${base}/purge`, ids, 'Delete the selected dead jobs?'),
          bulk('Purge all', `${base}/purge`, () => ({ all: true }), `Delete all ${list.total} dead jobs of ${name}?`))),
      h('table', { id: 'dead-letters' },
        h('thead', {}, h('tr', {}, config.read_only ? null : h('th', {}, ''), h('th', {}, 'id'), h('th', {}, 'name'),
          h('th', {}, 'from'), h('th', {}, 'died'), h('th', { class: 'num' }, 'attempts'), h('th', {}, 'reason'),
          h('th', {}, 'replays'), h('th', {}, 'data'), h('th', {}, ''))),
        h('tbody', {}, list.dead_letters.map((dead) => {
          const box = config.read_only ? null : h('input', {
            type: 'checkbox', value: dead.id, 'aria-label': `select ${dead.id}`, checked: deadSelection.has(key(dead.id)),
            onchange: (event) => (event.currentTarget.checked ? deadSelection.add(key(dead.id)) : deadSelection.delete(key(dead.id))),
          });
          return h('tr', { 'data-dead': dead.id },
            box ? h('td', {}, box) : null,
            h('td', {}, h('a', { href: jobHref(name, dead.id), class: 'job-link' }, dead.id)),
            h('td', {}, dead.name),
            h('td', {}, h('a', { href: jobHref(dead.source_queue, dead.source_id) }, `${dead.source_queue} / ${dead.source_id}`)),
            h('td', {}, when(dead.dead_at)),
            h('td', { class: 'num' }, dead.attempts_made),
            h('td', {}, dead.failed_reason || ''),
            h('td', {}, dead.replays === 0 ? h('span', { class: 'muted' }, 'none')
              : [`${dead.replays}, last as `, dead.replayed_as
                ? h('a', { href: jobHref(dead.source_queue, dead.replayed_as) }, dead.replayed_as) : '—']),
            h('td', {}, shortData(dead)),
            h('td', {}, h('span', { class: 'actions' },
              actionButton('Replay', `${base}/${enc(dead.id)}/replay`),
              actionButton('Purge', `${base}/${enc(dead.id)}/purge`, {
                confirmText: `Delete dead job ${dead.id}?`, danger: true,
              }))));
        }))),
    ],
  ];
}

// The job's ancestors (read one by one, up to 10), the job, and its children; each child can
// be opened to show its own children.
async function familyTree(queue, job) {
  const ancestors = [];
  let parent = job.parent;
  while (parent && ancestors.length < 10) {
    if (parent.prefix !== config.prefix) {
      ancestors.unshift({ key: parent, job: null, note: `prefix ${parent.prefix}` });
      break;
    }
    const found = await api(jobPath(parent.queue, parent.id)).catch(() => null);
    ancestors.unshift({ key: parent, job: found, note: found ? found.state : 'removed' });
    parent = found ? found.parent : null;
  }
  if (ancestors.length === 0 && !hasChildren(job)) return h('p', { class: 'muted' }, 'No parent, no children.');
  const self = h('li', {}, h('span', { class: 'self' }, `${queue} / ${job.id}`), ' ', stateBadge(job.state),
    childList(job));
  let tree = self;
  for (const ancestor of ancestors.reverse()) {
    tree = h('li', {}, nodeLink(ancestor.key), ' ', h('span', { class: 'muted' }, ancestor.note),
      h('ul', { class: 'tree' }, tree));
  }
  return h('ul', { class: 'tree root', id: 'family' }, tree);
}

function hasChildren(job) {
  const c = job.children && job.children.counts;
  return c && c.processed + c.pending + c.ignored + c.failed > 0;
}

function nodeLink(key) {
  return key.prefix === config.prefix
    ? h('a', { href: jobHref(key.queue, key.id) }, `${key.queue} / ${key.id}`)
    : h('span', {}, `${key.prefix}:${key.queue} / ${key.id}`);
}

function childList(job) {
  if (!hasChildren(job)) return null;
  const c = job.children;
  const items = [];
  const add = (list, label) => list.forEach((key) => items.push(childNode(key, label)));
  add(c.processed, 'processed');
  add(c.pending, 'pending');
  add(c.failed, 'failed');
  add(c.ignored, 'failed, ignored');
  const shown = items.length;
  const total = c.counts.processed + c.counts.pending + c.counts.ignored + c.counts.failed;
  if (total > shown) items.push(h('li', { class: 'muted' }, `and ${total - shown} more`));
  return h('ul', { class: 'tree' }, items);
}

function childNode(key, label) {
  const slot = h('span', {});
  const open = key.prefix === config.prefix ? h('button', {
    type: 'button',
    onclick: async (event) => {
      event.currentTarget.remove();
      const child = await api(jobPath(key.queue, key.id)).catch((error) => ({ error: error.message }));
      if (child.error) slot.replaceChildren(h('span', { class: 'muted' }, child.error));
      else slot.replaceChildren(stateBadge(child.state), hasChildren(child) ? childList(child) : ' no children');
    },
  }, 'children') : null;
  return h('li', {}, nodeLink(key), ' ', h('span', { class: 'muted' }, label), ' ', open, slot);
}

async function searchView(params) {
  const id = params.get('id');
  const text = params.get('text');
  if (id !== null) {
    crumbs(['queues', '#/'], `search id "${id}"`);
    const found = await api(`search?id=${enc(id)}`);
    return [h('h1', {}, `Jobs with id "${id}"`), foundTable(found)];
  }
  if (text !== null) {
    crumbs(['queues', '#/'], `search "${text}"`);
    const result = await api(`search/data?text=${enc(text)}`);
    return [
      h('h1', {}, `Jobs whose data contains "${text}"`),
      h('p', { class: 'muted', id: 'search-extent' }, `${result.matches.length} found among ${result.scanned} jobs read`
        + (result.complete ? ' (every job).' : ' (the search stops after the newest jobs of each queue and state; narrow it to see more).')),
      foundTable(result.matches),
    ];
  }
  return [h('p', { class: 'muted' }, 'Type an id or a text in the search box.')];
}

function foundTable(found) {
  if (found.length === 0) return h('p', { class: 'muted' }, 'Nothing found.');
  return h('table', { id: 'found' },
    h('thead', {}, h('tr', {}, h('th', {}, 'queue'), h('th', {}, 'id'), h('th', {}, 'name'), h('th', {}, 'state'), h('th', {}, 'data'))),
    h('tbody', {}, found.map(({ queue, job }) => h('tr', {},
      h('td', {}, h('a', { href: `#/queues/${enc(queue)}` }, queue)),
      h('td', {}, h('a', { href: jobHref(queue, job.id), class: 'job-link' }, job.id)),
      h('td', {}, job.name), h('td', {}, stateBadge(job.state)), h('td', {}, shortData(job))))));
}

// ---- routing and refreshing ----

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return overview();
  if (parts[0] === 'search') return searchView(params);
  if (parts[0] === 'queues' && parts.length === 2) return queueView(parts[1], params);
  if (parts[0] === 'queues' && parts.length === 3 && parts[2] === 'schedulers') return schedulersView(parts[1]);
  if (parts[0] === 'queues' && parts.length === 3 && parts[2] === 'dead-letters') return deadLettersView(parts[1], params);
  if (parts[0] === 'queues' && parts.length === 4 && parts[2] === 'jobs') return jobView(parts[1], parts[3]);
  return Promise.resolve([h('p', {}, 'No such page. ', h('a', { href: '#/' }, 'Back to the queues.'))]);
}

async function render() {
  const generation = ++renderGeneration;
  try {
    const content = await route();
    if (generation !== renderGeneration) return; // a newer view was asked for meanwhile
    const main = document.getElementById('main');
    main.replaceChildren();
    append(main, [content]);
    document.body.dataset.rendered = String(generation);
  } catch (error) {
    if (generation !== renderGeneration) return;
    document.getElementById('main').replaceChildren(h('p', { class: 'error' }, `Could not load: ${error.message}`));
  }
}

function refreshLater() {
  setTimeout(async () => {
    const busy = document.activeElement && document.getElementById('main').contains(document.activeElement)
      && document.activeElement.tagName === 'INPUT';
    if (document.getElementById('live').checked && !busy && document.visibilityState === 'visible') {
      await render();
    }
    refreshLater();
  }, REFRESH_MS);
}

function setUpHeader() {
  const mode = document.getElementById('mode');
  if (config.read_only) mode.append(h('span', { class: 'tag', id: 'read-only' }, 'read-only'));
  if (config.hide_data) {
    mode.append(h('span', { class: 'tag' }, 'data hidden'));
    document.querySelector('#search-kind option[value="text"]').remove();
  }
  if (config.auth === 'token') {
    mode.append(h('form', { method: 'post', action: BASE + 'logout' }, h('button', { type: 'submit' }, 'Log out')));
  }
  document.getElementById('search').addEventListener('submit', (event) => {
    event.preventDefault();
    const kind = document.getElementById('search-kind').value;
    const value = document.getElementById('search-input').value.trim();
    if (value) location.hash = `#/search?${kind}=${enc(value)}`;
  });
}

async function start() {
  try {
    config = await api('config');
  } catch (error) {
    document.getElementById('main').replaceChildren(h('p', { class: 'error' }, `Could not load: ${error.message}`));
    return;
  }
  setUpHeader();
  window.addEventListener('hashchange', () => {
    flash('');
    render();
  });
  await render();
  refreshLater();
}

start();
