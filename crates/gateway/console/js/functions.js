// The functions list (status and last execution of each) and the form that creates one.

import { api, Query } from './api.js';
import { errorBox, every, field, h, replace, select } from './dom.js';
import { ago } from './format.js';

async function lastExecutions(functions, signal) {
  const last = new Map();
  const queue = [...functions];
  const worker = async () => {
    for (let fn = queue.shift(); fn; fn = queue.shift()) {
      try {
        const page = await api.executions(fn.$id, [Query.orderDesc('$createdAt'), Query.limit(1)], signal);
        last.set(fn.$id, page.executions[0] || null);
      } catch {
        last.set(fn.$id, undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return last;
}

export function statusBadge(status) {
  const tone = { completed: 'ok', ready: 'ok', failed: 'bad', canceled: 'muted' }[status] || 'info';
  return h('span', { class: ['badge', tone] }, status || '—');
}

function functionStatus(fn) {
  if (!fn.enabled) return h('span', { class: 'badge muted' }, 'disabled');
  if (fn.live) return h('span', { class: 'badge ok' }, 'live');
  if (fn.latestDeploymentStatus) return statusBadge(fn.latestDeploymentStatus);
  return h('span', { class: 'badge warn' }, 'no deployment');
}

function row(fn, last) {
  const link = `#/functions/${encodeURIComponent(fn.$id)}`;
  return h('tr', { dataset: { functionId: fn.$id } },
    h('td', {}, h('a', { href: link, class: 'strong' }, fn.name), h('div', { class: 'sub mono' }, fn.$id)),
    h('td', {}, fn.runtime),
    h('td', {}, functionStatus(fn)),
    h('td', {}, last === undefined ? '—' : last === null ? h('span', { class: 'muted' }, 'never')
      : h('a', { href: `${link}/executions/${encodeURIComponent(last.$id)}`, class: 'plain' },
        statusBadge(last.status), ' ', h('span', { class: 'muted', title: last.$createdAt }, ago(last.$createdAt)))));
}

function createForm(runtimes, onCreated) {
  const name = h('input', { name: 'name', required: true, maxlength: 128, placeholder: 'My function' });
  const id = h('input', { name: 'functionId', placeholder: 'unique()', pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,35}',
    title: 'Up to 36 letters, digits, ".", "-" or "_", starting with a letter or digit' });
  const runtime = select({ name: 'runtime' }, runtimes.map((r) => [r.key || r.$id, r.name]), 'rust-wasi-0.2');
  const open = h('input', { type: 'checkbox', name: 'public' });
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'card form-grid', id: 'create-function', onsubmit: async (event) => {
    event.preventDefault();
    replace(status);
    try {
      const created = await api.createFunction({
        functionId: id.value.trim() || 'unique()',
        name: name.value,
        runtime: runtime.value,
        execute: open.checked ? ['any'] : [],
      });
      onCreated(created);
    } catch (error) {
      replace(status, errorBox(error));
    }
  } },
  h('h2', {}, 'New function'),
  field('Name', name),
  field('Function ID', id, 'Leave empty for a generated ID.'),
  field('Runtime', runtime),
  h('label', { class: 'check' }, open, 'Public: anyone may call it over HTTP (execute role "any")'),
  status,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create function')));
  return form;
}

export async function functionsView(root, signal) {
  const search = h('input', { type: 'search', placeholder: 'Search by name, ID or runtime', 'aria-label': 'Search functions' });
  const table = h('tbody');
  const status = h('div');
  const formSlot = h('div');
  const newButton = h('button', { type: 'button', class: 'button primary', id: 'new-function' }, 'Create function');
  replace(root, h('div', { class: 'page' },
    h('div', { class: 'page-header row' }, h('h1', {}, 'Functions'), newButton),
    formSlot,
    h('div', { class: 'toolbar' }, search),
    status,
    h('div', { class: 'table-wrap card flush' }, h('table', { class: 'table', id: 'functions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Function'), h('th', {}, 'Runtime'), h('th', {}, 'Status'), h('th', {}, 'Last execution'))),
      table))));

  const load = async () => {
    const page = await api.functions(search.value.trim());
    const last = await lastExecutions(page.functions, signal);
    if (signal.aborted) return;
    replace(status);
    if (page.functions.length === 0) {
      replace(table, h('tr', {}, h('td', { colspan: 4, class: 'empty' },
        search.value ? 'No function matches.' : 'No functions yet: create one to deploy a component.')));
      return;
    }
    replace(table, page.functions.map((fn) => row(fn, last.get(fn.$id))));
  };
  newButton.addEventListener('click', async () => {
    if (formSlot.firstChild) { replace(formSlot); return; }
    try {
      const { runtimes } = await api.runtimes();
      replace(formSlot, createForm(runtimes, (created) => {
        location.hash = `#/functions/${encodeURIComponent(created.$id)}/deployments`;
      }));
      formSlot.querySelector('input')?.focus();
    } catch (error) {
      replace(formSlot, errorBox(error));
    }
  });
  let typing;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => load().catch((error) => replace(status, errorBox(error))), 250);
  });
  try {
    await load();
  } catch (error) {
    replace(status, errorBox(error));
  }
  every(5000, signal, load);
}
