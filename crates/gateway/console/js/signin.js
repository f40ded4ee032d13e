// Sign-in: the project (default `default`) and an API key, checked with one list call before
// they are kept for this tab.

import { api, signIn } from './api.js';
import { errorBox, field, h, replace } from './dom.js';

/** The sign-in form; `notice` says why the operator is back here, if it is not the start. */
export function signInView(root, done, notice) {
  const project = h('input', { name: 'project', id: 'project', value: 'default', required: true,
    autocomplete: 'username', spellcheck: 'false' });
  const key = h('input', { name: 'key', id: 'key', type: 'password', required: true,
    autocomplete: 'current-password', placeholder: 'API key' });
  const status = h('div', { class: 'form-status' },
    notice ? h('div', { class: 'alert warn', role: 'alert', id: 'sign-in-notice' }, notice) : null);
  const submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Sign in');
  const form = h('form', { class: 'card signin', id: 'sign-in', onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(status);
    const credentials = { project: project.value.trim(), key: key.value.trim() };
    try {
      await api.checkKey(credentials);
      signIn(credentials.project, credentials.key);
      done();
    } catch (error) {
      replace(status, errorBox(error.status === 401 || error.status === 404
        ? Object.assign(error, { message: `Sign-in refused: ${error.message}` }) : error));
      submit.disabled = false;
      key.select();
    }
  } },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'Use an API key of the project. It stays in this browser tab until you sign out or close it.'),
  field('Project', project),
  field('API key', key),
  status,
  submit);
  replace(root, h('div', { class: 'signin-wrap' }, form));
  key.focus();
}
