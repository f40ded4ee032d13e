// A function's executions: a table that follows new records live, filters (status, trigger,
// method, time) as Appwrite queries, and one execution's request, response, logs and errors.

import { api, Query } from './api.js';
import { errorBox, every, h, replace, select } from './dom.js';
import { bytes, date, duration, number, time } from './format.js';
import { statusBadge } from './functions.js';

const PAGE = 25;
const STATUSES = ['waiting', 'scheduled', 'processing', 'completed', 'failed'];
const TRIGGERS = ['http', 'schedule', 'event'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const RANGES = [['', 'Any time'], ['15', 'Last 15 minutes'], ['60', 'Last hour'], ['1440', 'Last 24 hours'], ['10080', 'Last 7 days']];

function anyOf(label, values) {
  return [['', label], ...values.map((v) => [v, v])];
}

function headerTable(headers) {
  if (!headers || headers.length === 0) return h('p', { class: 'muted' }, 'none');
  return h('table', { class: 'table compact' }, h('tbody', {}, headers.map(({ name, value }) =>
    h('tr', {}, h('th', { class: 'mono' }, name), h('td', { class: 'mono break' }, value)))));
}

/** A JSON body indented for reading; anything else as it is. */
export function readable(body, headers = []) {
  const type = headers.find((header) => header.name.toLowerCase() === 'content-type')?.value || '';
  if (!body || !/json/i.test(type)) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function block(title, text, empty, cls) {
  return h('section', { class: 'detail-block' }, h('h3', {}, title),
    text ? h('pre', { class: ['output', cls] }, text) : h('p', { class: 'muted' }, empty));
}

/** One execution in full: what it was asked and what it answered, logged and failed with. */
export function executionDetail(ex) {
  const item = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h('div', { class: 'execution-detail', id: 'execution-detail', dataset: { executionId: ex.$id } },
    h('div', { class: 'title-row' }, h('h2', {}, 'Execution'), h('code', {}, ex.$id), statusBadge(ex.status)),
    h('dl', { class: 'facts' },
      item('Created', date(ex.$createdAt)),
      item('Trigger', ex.trigger),
      item('Request', h('span', { class: 'mono' }, `${ex.requestMethod} ${ex.requestPath}`)),
      item('Response status', ex.responseStatusCode ? String(ex.responseStatusCode) : '—'),
      item('Duration', duration(ex.duration)),
      item('Deployment', ex.deploymentId ? h('code', {}, ex.deploymentId) : '—'),
      item('Fuel consumed', number(ex.fuelConsumed)),
      item('Peak memory', ex.peakMemoryBytes ? bytes(ex.peakMemoryBytes) : '—'),
      ex.scheduledAt ? item('Scheduled at', date(ex.scheduledAt)) : null),
    h('div', { class: 'detail-grid' },
      h('section', { class: 'detail-block' }, h('h3', {}, 'Request headers'), headerTable(ex.requestHeaders)),
      h('section', { class: 'detail-block' }, h('h3', {}, 'Response headers'), headerTable(ex.responseHeaders))),
    block('Response body', readable(ex.responseBody, ex.responseHeaders), 'empty (bodies of asynchronous executions are not kept)', 'body'),
    block('Logs', ex.logs, 'no logs', 'logs'),
    block('Errors', ex.errors, 'no errors', 'errors'));
}

const UNFINISHED = new Set(['waiting', 'scheduled', 'processing']);

function executionRow(ex, link, selected, open) {
  const choose = (event) => {
    event.preventDefault();
    open(ex.$id);
  };
  return h('tr', { class: ['clickable', selected && 'selected'], dataset: { executionId: ex.$id }, onclick: choose },
  h('td', { title: date(ex.$createdAt), class: 'nowrap' }, time(ex.$createdAt)),
  h('td', {}, statusBadge(ex.status)),
  h('td', { class: 'optional' }, ex.trigger),
  h('td', { class: 'mono' }, ex.requestMethod),
  h('td', { class: 'mono break path' }, h('a', { href: link(ex.$id), class: 'plain' }, ex.requestPath)),
  h('td', { class: 'num optional' }, ex.responseStatusCode ? String(ex.responseStatusCode) : '—'),
  h('td', { class: 'num' }, duration(ex.duration)));
}

export async function executionsView({ fn, root, signal, item }) {
  const filters = {
    status: select({ 'aria-label': 'Status', name: 'status' }, anyOf('Any status', STATUSES), ''),
    trigger: select({ 'aria-label': 'Trigger', name: 'trigger' }, anyOf('Any trigger', TRIGGERS), ''),
    method: select({ 'aria-label': 'Method', name: 'method' }, anyOf('Any method', METHODS), ''),
    range: select({ 'aria-label': 'Time', name: 'range' }, RANGES, ''),
  };
  const live = h('input', { type: 'checkbox', checked: true, name: 'live' });
  const rows = h('tbody');
  const status = h('div');
  const more = h('button', { type: 'button', class: 'button ghost', hidden: true }, 'Load older');
  const detail = h('div', { class: 'detail-slot' });
  const link = (id) => `#/functions/${encodeURIComponent(fn.$id)}/executions/${encodeURIComponent(id)}`;
  let records = [];
  let exhausted = false;
  let shown = null;

  const showDetail = async () => {
    try {
      const ex = await api.execution(fn.$id, item);
      if (signal.aborted || ex.$id !== item) return;
      shown = ex;
      replace(detail, h('div', { class: 'card' }, executionDetail(ex)));
    } catch (error) {
      replace(detail, errorBox(error));
    }
  };
  // Opening an execution keeps the filters and the table: the address changes without a
  // navigation, so a reload or a shared link opens the same execution.
  function open(id) {
    item = id;
    history.replaceState(null, '', link(id));
    draw();
    showDetail().then(() => detail.scrollIntoView({ block: 'nearest', behavior: 'smooth' }));
  }

  const queries = () => {
    const list = [Query.orderDesc('$createdAt')];
    if (filters.status.value) list.push(Query.equal('status', filters.status.value));
    if (filters.trigger.value) list.push(Query.equal('trigger', filters.trigger.value));
    if (filters.method.value) list.push(Query.equal('requestMethod', filters.method.value));
    if (filters.range.value) {
      const since = new Date(Date.now() - Number(filters.range.value) * 60_000).toISOString();
      list.push(Query.greaterThanEqual('$createdAt', since));
    }
    return list;
  };
  const draw = () => {
    more.hidden = exhausted || records.length === 0;
    if (records.length === 0) {
      replace(rows, h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No executions match.')));
      return;
    }
    replace(rows, records.map((ex) => executionRow(ex, link, ex.$id === item, open)));
  };
  // The newest page replaces what it overlaps: records change state (waiting → completed).
  let generation = 0;
  const refresh = async () => {
    const asked = generation;
    const page = await api.executions(fn.$id, [...queries(), Query.limit(PAGE)], signal);
    // A filter changed while this page was on its way: a newer refresh draws instead.
    if (signal.aborted || asked !== generation) return;
    const fresh = new Map(page.executions.map((ex) => [ex.$id, ex]));
    const oldest = page.executions.at(-1)?.$createdAt;
    const older = page.executions.length < PAGE ? []
      : records.filter((ex) => !fresh.has(ex.$id) && ex.$createdAt <= oldest);
    if (page.executions.length < PAGE) exhausted = true;
    records = [...page.executions, ...older];
    replace(status);
    draw();
  };
  const reset = () => {
    generation += 1;
    records = [];
    exhausted = false;
    refresh().catch((error) => replace(status, errorBox(error)));
  };
  more.addEventListener('click', async () => {
    try {
      const last = records.at(-1);
      const asked = generation;
      const page = await api.executions(fn.$id, [...queries(), Query.cursorAfter(last.$id), Query.limit(PAGE)], signal);
      if (asked !== generation) return;
      records.push(...page.executions);
      exhausted = page.executions.length < PAGE;
      draw();
    } catch (error) {
      replace(status, errorBox(error));
    }
  });
  Object.values(filters).forEach((control) => control.addEventListener('change', reset));

  replace(root, h('div', { class: 'executions' },
    h('div', { class: 'toolbar wrap', id: 'execution-filters' }, Object.values(filters),
      h('label', { class: 'check live' }, live, h('span', { class: 'pulse' }), 'Live')),
    status,
    h('div', { class: 'table-wrap card flush' }, h('table', { class: 'table', id: 'executions' },
      h('thead', {}, h('tr', {}, ['Time', 'Status', 'Trigger', 'Method', 'Path', 'Code', 'Duration'].map((t) =>
        h('th', { class: [(t === 'Code' || t === 'Duration') && 'num', (t === 'Trigger' || t === 'Code') && 'optional'] }, t)))),
      rows)),
    h('div', { class: 'actions' }, more),
    detail));

  await refresh().catch((error) => replace(status, errorBox(error)));
  if (item) await showDetail();
  every(2000, signal, async () => {
    if (!live.checked || document.hidden) return;
    await refresh();
    if (shown && UNFINISHED.has(shown.status)) await showDetail();
  });
}
