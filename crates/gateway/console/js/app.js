// The console's shell: sign-in state, the hash router (`#/functions`, `#/functions/ID/TAB`),
// and the function page with its tabs. Each view gets an AbortSignal that fires when the
// operator navigates away, which stops its polling.

import { KEY_REFUSED, api, session, signOut } from './api.js';
import { errorBox, h, replace } from './dom.js';
import { deploymentsView } from './deployments.js';
import { executionsView } from './executions.js';
import { functionsView } from './functions.js';
import { overviewView } from './overview.js';
import { runView } from './run.js';
import { settingsView } from './settings.js';
import { signInView } from './signin.js';

const view = document.getElementById('view');
const topnav = document.getElementById('topnav');
let current = null;

const TABS = [
  ['overview', 'Overview', overviewView],
  ['executions', 'Executions', executionsView],
  ['deployments', 'Deployments', deploymentsView],
  ['run', 'Run', runView],
  ['settings', 'Settings', settingsView],
];

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((part) => {
    try { return decodeURIComponent(part); } catch { return part; }
  });
  if (parts[0] !== 'functions') return { page: 'functions' };
  if (!parts[1]) return { page: 'functions' };
  return { page: 'function', functionId: parts[1], tab: parts[2] || 'overview', item: parts[3] };
}

export function functionLink(functionId, tab, item) {
  const parts = ['#/functions', encodeURIComponent(functionId)];
  if (tab) parts.push(tab);
  if (item) parts.push(encodeURIComponent(item));
  return parts.join('/');
}

function statusBadges(fn) {
  return [
    h('span', { class: ['badge', fn.enabled ? 'ok' : 'muted'] }, fn.enabled ? 'enabled' : 'disabled'),
    h('span', { class: ['badge', fn.live ? 'ok' : 'warn'] }, fn.live ? 'live' : 'no active deployment'),
  ];
}

async function functionPage(route, signal) {
  const header = h('div', { class: 'page-header' }, h('p', { class: 'muted' }, 'Loading…'));
  const body = h('section', { class: 'tab-body' });
  const page = h('div', { class: 'function-page' }, header, body);
  replace(view, page);
  let fn;
  try {
    fn = await api.function(route.functionId);
  } catch (error) {
    replace(header, h('a', { href: '#/functions', class: 'back' }, '← Functions'), errorBox(error));
    return;
  }
  if (signal.aborted) return;
  const tab = TABS.find(([key]) => key === route.tab) || TABS[0];
  const name = h('h1', { class: 'function-name' }, fn.name);
  const badges = h('span', { class: 'badges', id: 'function-badges' }, statusBadges(fn));
  replace(header,
    h('a', { href: '#/functions', class: 'back' }, '← Functions'),
    h('div', { class: 'title-row' },
      name,
      h('code', { class: 'function-id', title: 'Function ID' }, fn.$id),
      badges),
    h('nav', { class: 'tabs', 'aria-label': 'Function' }, TABS.map(([key, label]) =>
      h('a', { href: functionLink(fn.$id, key), class: ['tab', key === tab[0] && 'active'],
        'aria-current': key === tab[0] ? 'page' : null }, label))));
  const reload = async () => {
    fn = await api.function(fn.$id);
    name.textContent = fn.name;
    replace(badges, statusBadges(fn));
    return fn;
  };
  await tab[2]({ fn, root: body, signal, item: route.item, reload });
}

async function render(notice) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const credentials = session();
  topnav.hidden = !credentials;
  if (!credentials) {
    signInView(view, () => { location.hash = '#/functions'; render(); }, notice);
    return;
  }
  document.getElementById('project-name').textContent = credentials.project;
  const route = parseRoute();
  try {
    if (route.page === 'function') await functionPage(route, controller.signal);
    else await functionsView(view, controller.signal);
  } catch (error) {
    if (!controller.signal.aborted) view.append(errorBox(error));
  }
}

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  location.hash = '';
  render();
});
window.addEventListener(KEY_REFUSED, (event) => {
  if (!session()) return;
  signOut();
  render(`Signed out: ${event.detail} Sign in again with a valid key.`);
});
window.addEventListener('hashchange', () => render());
render();
