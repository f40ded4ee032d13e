// Running a function from the page: method, path, headers and body, synchronously (the
// result shows here) or queued.

import { api } from './api.js';
import { errorBox, field, h, replace, select } from './dom.js';
import { executionDetail } from './executions.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

/** `Name: value` lines as a headers object; throws on a line without a colon. */
export function parseHeaders(text) {
  const headers = {};
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`Header line ${index + 1} needs the form "Name: value".`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  });
  return headers;
}

export async function runView({ fn, root }) {
  const method = select({ name: 'method', id: 'run-method' }, METHODS.map((m) => [m, m]), 'GET');
  const path = h('input', { name: 'path', id: 'run-path', value: '/', spellcheck: 'false' });
  const headers = h('textarea', { name: 'headers', id: 'run-headers', rows: 3, spellcheck: 'false',
    placeholder: 'content-type: application/json' });
  const body = h('textarea', { name: 'body', id: 'run-body', rows: 6, spellcheck: 'false', placeholder: 'Request body' });
  const queued = h('input', { type: 'checkbox', name: 'async' });
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'run-submit' }, 'Run');
  const result = h('div', { id: 'run-result' });
  const form = h('form', { class: 'card form-grid', id: 'run-form', onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(result, h('p', { class: 'muted' }, 'Running…'));
    try {
      const execution = await api.execute(fn.$id, {
        method: method.value,
        path: path.value || '/',
        headers: parseHeaders(headers.value),
        body: body.value,
        async: queued.checked,
      });
      replace(result, h('div', { class: 'card' },
        queued.checked ? h('p', {}, 'Queued. ', h('a', {
          href: `#/functions/${encodeURIComponent(fn.$id)}/executions/${encodeURIComponent(execution.$id)}`,
        }, 'Follow it in Executions')) : null,
        executionDetail(execution)));
    } catch (error) {
      replace(result, errorBox(error));
    } finally {
      submit.disabled = false;
    }
  } },
  h('h2', {}, 'Run'),
  h('div', { class: 'inline-fields' }, field('Method', method), field('Path', path, 'May hold a ?query.')),
  field('Headers', headers, 'One "Name: value" per line; x-appwrite-* names are reserved.'),
  field('Body', body),
  h('label', { class: 'check' }, queued, 'Asynchronous: queue it and return at once'),
  h('div', { class: 'actions' }, submit));
  if (!fn.live) {
    form.insertBefore(h('div', { class: 'alert warn' }, 'This function has no active deployment yet: upload one under Deployments.'),
      form.children[1]);
  }
  replace(root, h('div', { class: 'run' }, form, result));
}
