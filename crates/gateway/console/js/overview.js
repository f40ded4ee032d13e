// A function at a glance: the last hour's chart and numbers, and its main settings.

import { api, Query } from './api.js';
import { chart, summarize } from './chart.js';
import { errorBox, every, h, replace } from './dom.js';
import { ago, date, duration, milliseconds, number } from './format.js';
import { statusBadge } from './functions.js';

const PAGE = 100;
/** The most records one refresh reads (pages of 100); a busier hour is charted from these. */
export const MAX_RECORDS = 2000;

/** The executions created since `sinceMs`, newest first, at most MAX_RECORDS. */
export async function executionsSince(functionId, sinceMs, signal) {
  const since = new Date(sinceMs).toISOString();
  const records = [];
  let cursor = null;
  while (records.length < MAX_RECORDS) {
    const queries = [Query.greaterThanEqual('$createdAt', since), Query.orderDesc('$createdAt'), Query.limit(PAGE)];
    if (cursor) queries.push(Query.cursorAfter(cursor));
    const page = await api.executions(functionId, queries, signal);
    records.push(...page.executions);
    if (page.executions.length < PAGE) break;
    cursor = page.executions[page.executions.length - 1].$id;
  }
  return records;
}

function stat(label, value, id) {
  return h('div', { class: 'stat', id }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

function facts(fn) {
  const item = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  return h('dl', { class: 'facts' },
    item('Runtime', fn.runtime),
    item('Deployment', fn.deploymentId ? h('code', {}, fn.deploymentId) : 'none'),
    item('Execute roles', fn.execute.length ? fn.execute.join(', ') : 'API keys only'),
    item('Schedule', fn.schedule || 'none'),
    item('Timeout', `${fn.timeout} s`),
    item('Memory', fn.memory ? `${fn.memory} MiB` : 'specification default'),
    item('Created', date(fn.$createdAt)));
}

function recent(fn, records) {
  if (records.length === 0) return h('p', { class: 'muted' }, 'No executions in the last hour.');
  return h('ul', { class: 'recent', id: 'recent-executions' }, records.slice(0, 6).map((ex) => h('li', {},
    h('a', { href: `#/functions/${encodeURIComponent(fn.$id)}/executions/${encodeURIComponent(ex.$id)}`, class: 'plain recent-row' },
      statusBadge(ex.status),
      h('span', { class: 'mono recent-path' }, `${ex.requestMethod} ${ex.requestPath}`),
      h('span', { class: 'muted recent-meta' }, `${duration(ex.duration)} · ${ago(ex.$createdAt)}`)))));
}

export async function overviewView({ fn, root, signal }) {
  const stats = h('div', { class: 'stats' });
  const figure = h('div', { class: 'chart-slot' }, h('p', { class: 'muted' }, 'Loading the last hour…'));
  const note = h('p', { class: 'muted small' });
  const latest = h('div');
  replace(root, h('div', { class: 'overview' },
    h('div', { class: 'card' }, h('h2', {}, 'Last hour'), stats, figure, note),
    h('div', { class: 'side' },
      h('div', { class: 'card' }, h('h2', {}, 'Function'), facts(fn)),
      h('div', { class: 'card' }, h('h2', {}, 'Latest executions'), latest))));
  const refresh = async () => {
    const now = Date.now();
    const records = await executionsSince(fn.$id, now - 60 * 60_000, signal);
    if (signal.aborted) return;
    const summary = summarize(records, now);
    replace(stats,
      stat('executions', number(summary.total), 'stat-total'),
      stat('failed', number(summary.failed), 'stat-failed'),
      stat('p50 duration', milliseconds(summary.p50), 'stat-p50'),
      stat('p99 duration', milliseconds(summary.p99), 'stat-p99'));
    replace(figure, chart(summary, figure.clientWidth || 720));
    replace(latest, recent(fn, records));
    replace(note, records.length >= MAX_RECORDS
      ? `Drawn from the latest ${MAX_RECORDS} execution records of the hour.`
      : 'From the execution records; refreshed every 10 seconds.');
  };
  try {
    await refresh();
  } catch (error) {
    replace(figure, errorBox(error));
  }
  every(10_000, signal, refresh);
}
