// The console's only way to the server: the public /v1 API, with the project and key the
// operator signed in with. The key lives in sessionStorage (gone when the tab closes) and
// travels in a header, never in a URL.

const SESSION = 'wafer.console.session';

export function session() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
    return saved && saved.project && saved.key ? saved : null;
  } catch {
    return null;
  }
}

export function signIn(project, key) {
  sessionStorage.setItem(SESSION, JSON.stringify({ project, key }));
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}

/** An error answer in the API's shape: `{message, code, type}`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The server answered ${status}.`);
    this.status = status;
    this.type = body?.type || '';
  }
}

/** Appwrite JSON queries. */
export const Query = {
  equal: (attribute, values) => ({ method: 'equal', attribute, values: [].concat(values) }),
  greaterThanEqual: (attribute, value) => ({ method: 'greaterThanEqual', attribute, values: [value] }),
  orderDesc: (attribute) => ({ method: 'orderDesc', attribute }),
  limit: (n) => ({ method: 'limit', values: [n] }),
  cursorAfter: (id) => ({ method: 'cursorAfter', values: [id] }),
};

export function authHeaders(credentials = session()) {
  if (!credentials) throw new ApiError(401, { message: 'Not signed in.', type: 'user_unauthorized' });
  return { 'X-Appwrite-Project': credentials.project, 'X-Appwrite-Key': credentials.key };
}

function url(path, { queries = [], search, total } = {}) {
  const params = new URLSearchParams();
  queries.forEach((query, index) => params.append(`queries[${index}]`, JSON.stringify(query)));
  if (search) params.append('search', search);
  if (total === false) params.append('total', 'false');
  const text = params.toString();
  return `/v1${path}${text ? `?${text}` : ''}`;
}

/** Parses an answer, throwing an ApiError for an error status. */
export async function answer(response) {
  const type = response.headers.get('content-type') || '';
  const body = type.includes('application/json') ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** Fired on `window` when the server refuses the session's key (revoked, expired). */
export const KEY_REFUSED = 'wafer:key-refused';

export async function call(method, path, { body, list, credentials, signal } = {}) {
  const headers = authHeaders(credentials);
  const init = { method, headers, signal, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await answer(await fetch(url(path, list), init));
  } catch (error) {
    // With a key, `user_unauthorized` means the key itself is no longer good.
    if (!credentials && error.status === 401 && error.type === 'user_unauthorized') {
      window.dispatchEvent(new CustomEvent(KEY_REFUSED, { detail: error.message }));
    }
    throw error;
  }
}

const id = encodeURIComponent;

export const api = {
  checkKey: (credentials) => call('GET', '/functions', { credentials, list: { queries: [Query.limit(1)], total: false } }),
  functions: (search) => call('GET', '/functions', { list: { queries: [Query.limit(100)], search } }),
  runtimes: () => call('GET', '/functions/runtimes'),
  specifications: () => call('GET', '/functions/specifications'),
  function: (fn) => call('GET', `/functions/${id(fn)}`),
  createFunction: (body) => call('POST', '/functions', { body }),
  updateFunction: (fn, body) => call('PUT', `/functions/${id(fn)}`, { body }),
  deleteFunction: (fn) => call('DELETE', `/functions/${id(fn)}`),
  activate: (fn, deploymentId) => call('PATCH', `/functions/${id(fn)}/deployment`, { body: { deploymentId } }),
  deployments: (fn) => call('GET', `/functions/${id(fn)}/deployments`,
    { list: { queries: [Query.orderDesc('$createdAt'), Query.limit(50)] } }),
  deployment: (fn, dep) => call('GET', `/functions/${id(fn)}/deployments/${id(dep)}`),
  executions: (fn, queries, signal) => call('GET', `/functions/${id(fn)}/executions`,
    { list: { queries, total: false }, signal }),
  execution: (fn, ex) => call('GET', `/functions/${id(fn)}/executions/${id(ex)}`),
  execute: (fn, body) => call('POST', `/functions/${id(fn)}/executions`, { body }),
  variables: (fn) => call('GET', `/functions/${id(fn)}/variables`),
  createVariable: (fn, body) => call('POST', `/functions/${id(fn)}/variables`, { body }),
  updateVariable: (fn, v, body) => call('PUT', `/functions/${id(fn)}/variables/${id(v)}`, { body }),
  deleteVariable: (fn, v) => call('DELETE', `/functions/${id(fn)}/variables/${id(v)}`),

  /** The deployment's source as a Blob (the key goes in a header, so no plain link). */
  async download(fn, dep) {
    const response = await fetch(url(`/functions/${id(fn)}/deployments/${id(dep)}/download`),
      { headers: authHeaders(), cache: 'no-store' });
    if (!response.ok) await answer(response);
    return response.blob();
  },
};
