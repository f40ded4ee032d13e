// A function's settings (runtime, execute roles, limits, schedule, outbound hosts, instance
// reuse), its variables with secret values never shown, and deleting it.

import { api } from './api.js';
import { errorBox, field, h, replace, select } from './dom.js';

const list = (text) => text.split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);

function settingsForm(fn, runtimes, specifications, onSaved) {
  const name = h('input', { name: 'name', value: fn.name, required: true, maxlength: 128 });
  const runtime = select({ name: 'runtime' }, runtimes.map((r) => [r.key || r.$id, r.name]), fn.runtime);
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: fn.enabled });
  const logging = h('input', { type: 'checkbox', name: 'logging', checked: fn.logging });
  const execute = h('input', { name: 'execute', value: fn.execute.join(', '), placeholder: 'any, users, user:ID, team:ID, label:NAME' });
  const timeout = h('input', { name: 'timeout', type: 'number', min: 1, max: 900, value: String(fn.timeout), required: true });
  const specification = select({ name: 'specification' },
    specifications.map((spec) => [spec.slug, `${spec.slug} (${spec.memory} MB, ${spec.cpus} CPU)`]), fn.specification);
  const memory = h('input', { name: 'memory', type: 'number', min: 1, value: fn.memory ? String(fn.memory) : '',
    placeholder: 'from the specification' });
  const schedule = h('input', { name: 'schedule', value: fn.schedule, placeholder: 'e.g. */5 * * * *', spellcheck: 'false' });
  const outbound = h('textarea', { name: 'outboundHosts', rows: 3, spellcheck: 'false', placeholder: 'api.example.com' });
  outbound.value = fn.outboundHosts.join('\n');
  const reuse = h('input', { type: 'checkbox', name: 'reuseInstances', checked: fn.reuseInstances });
  const status = h('div', { class: 'form-status' });
  return h('form', { class: 'card form-grid', id: 'settings-form', onsubmit: async (event) => {
    event.preventDefault();
    replace(status);
    const body = {
      name: name.value,
      runtime: runtime.value,
      enabled: enabled.checked,
      logging: logging.checked,
      execute: list(execute.value),
      timeout: Number(timeout.value),
      specification: specification.value,
      schedule: schedule.value.trim(),
      outboundHosts: list(outbound.value),
      reuseInstances: reuse.checked,
    };
    if (memory.value) body.memory = Number(memory.value);
    try {
      await api.updateFunction(fn.$id, body);
      replace(status, h('div', { class: 'alert ok', role: 'status' }, 'Saved.'));
      onSaved();
    } catch (error) {
      replace(status, errorBox(error));
    }
  } },
  h('h2', {}, 'Settings'),
  field('Name', name),
  field('Runtime', runtime),
  field('Execute roles', execute, 'Who may run it without an API key, comma-separated; "any" makes it public over HTTP.'),
  h('div', { class: 'inline-fields' },
    field('Timeout (seconds)', timeout),
    field('Memory (MiB)', memory, 'Empty keeps the current limit.'),
    field('Specification', specification)),
  field('Schedule (cron)', schedule, 'Five fields; empty for none.'),
  field('Outbound hosts', outbound, 'Hosts it may call over HTTP, one per line.'),
  h('label', { class: 'check' }, enabled, 'Enabled'),
  h('label', { class: 'check' }, logging, 'Keep logs of executions'),
  h('label', { class: 'check' }, reuse, 'Reuse warm instances (faster; guest state survives between calls)'),
  status,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Save settings')));
}

function variableRow(fn, variable, refresh, status) {
  const value = variable.secret
    ? h('span', { class: 'masked', title: 'Secret: the value is never shown' }, '••••••••')
    : h('code', { class: 'break' }, variable.value);
  const edit = async () => {
    const next = prompt(variable.secret ? `New value of the secret ${variable.key}` : `Value of ${variable.key}`,
      variable.secret ? '' : variable.value);
    if (next === null) return;
    try {
      await api.updateVariable(fn.$id, variable.$id, { key: variable.key, value: next });
      await refresh();
    } catch (error) {
      replace(status, errorBox(error));
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the variable ${variable.key}?`)) return;
    try {
      await api.deleteVariable(fn.$id, variable.$id);
      await refresh();
    } catch (error) {
      replace(status, errorBox(error));
    }
  };
  return h('tr', { dataset: { variableId: variable.$id } },
    h('td', { class: 'mono' }, variable.key),
    h('td', {}, value),
    h('td', {}, variable.secret ? h('span', { class: 'badge muted' }, 'secret') : ''),
    h('td', { class: 'row-actions' },
      h('button', { type: 'button', class: 'button ghost small', onclick: edit }, variable.secret ? 'Replace' : 'Edit'),
      h('button', { type: 'button', class: 'button ghost small danger', onclick: remove }, 'Delete')));
}

function variablesCard(fn) {
  const rows = h('tbody');
  const status = h('div');
  const key = h('input', { name: 'key', required: true, maxlength: 255, placeholder: 'KEY', spellcheck: 'false' });
  const secret = h('input', { type: 'checkbox', name: 'secret', checked: true });
  const value = h('input', { name: 'value', type: 'password', maxlength: 8192, placeholder: 'value', autocomplete: 'off' });
  secret.addEventListener('change', () => { value.type = secret.checked ? 'password' : 'text'; });
  const refresh = async () => {
    const { variables } = await api.variables(fn.$id);
    replace(rows, variables.length === 0
      ? h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No variables.'))
      : variables.map((v) => variableRow(fn, v, refresh, status)));
  };
  const form = h('form', { class: 'inline-form', id: 'variable-form', onsubmit: async (event) => {
    event.preventDefault();
    replace(status);
    try {
      await api.createVariable(fn.$id, { variableId: 'unique()', key: key.value.trim(), value: value.value, secret: secret.checked });
      key.value = '';
      value.value = '';
      await refresh();
    } catch (error) {
      replace(status, errorBox(error));
    }
  } }, key, value, h('label', { class: 'check' }, secret, 'Secret'),
  h('button', { type: 'submit', class: 'button' }, 'Add variable'));
  const card = h('div', { class: 'card' },
    h('h2', {}, 'Variables'),
    h('p', { class: 'muted' }, 'Given to every execution as environment variables. Secret values are write-only.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'variables' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Value'), h('th', {}, ''), h('th', {}, ''))), rows)),
    form, status);
  return { card, refresh };
}

export async function settingsView({ fn, root, reload }) {
  const [{ runtimes }, { specifications }] = await Promise.all([api.runtimes(), api.specifications()]);
  const variables = variablesCard(fn);
  const status = h('div');
  const danger = h('div', { class: 'card danger-zone' },
    h('h2', {}, 'Delete function'),
    h('p', { class: 'muted' }, 'Removes the function with its deployments, executions and variables.'),
    status,
    h('button', { type: 'button', class: 'button danger', onclick: async () => {
      if (!confirm(`Delete the function ${fn.name} (${fn.$id})? This cannot be undone.`)) return;
      try {
        await api.deleteFunction(fn.$id);
        location.hash = '#/functions';
      } catch (error) {
        replace(status, errorBox(error));
      }
    } }, 'Delete function'));
  replace(root, h('div', { class: 'settings' },
    settingsForm(fn, runtimes, specifications, () => reload()), variables.card, danger));
  await variables.refresh().catch((error) => variables.card.append(errorBox(error)));
}
