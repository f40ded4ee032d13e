// The context a wafer function receives: `req`, `res`, `log` and `error`, as in an Appwrite
// (open-runtimes v5) Node.js function. Pure JavaScript with no WIT imports, so it also runs (and is
// unit-tested) under Node.js; `handler.js` wires it to the component's imports and export.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const BINARY = 'application/octet-stream';

/** Stack frames of the SDK's entry points and of componentize-js's generated bindings. */
const SDK_FRAME = /(^|@)(wafer-sdk\/|.*\/initializer\.js:)/;

/** Ports a URL leaves out because they are the scheme's default. */
const DEFAULT_PORTS = { http: 80, https: 443 };

/**
 * Joins URL parts, leaving out the port when it is the scheme's default.
 *
 * @param {string} scheme
 * @param {string} host
 * @param {number} port
 * @param {string} path
 * @param {string} queryString
 */
export function buildUrl(scheme, host, port, path, queryString) {
  // An IPv6 address needs brackets to be told apart from the port.
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const portPart = DEFAULT_PORTS[scheme.toLowerCase()] === port ? '' : `:${port}`;
  const pathPart = path.startsWith('/') ? path : `/${path}`;
  const queryPart = queryString ? `?${queryString}` : '';
  return `${scheme}://${hostPart}${portPart}${pathPart}${queryPart}`;
}

/**
 * Parses `a=1&b=two+words` into `{ a: '1', b: 'two words' }`, percent-decoded. A repeated key keeps
 * its first value.
 *
 * @param {string} queryString
 * @returns {Record<string, string>}
 */
export function parseQuery(queryString) {
  const query = {};
  for (const [key, value] of new URLSearchParams(queryString)) {
    if (!Object.prototype.hasOwnProperty.call(query, key)) {
      query[key] = value;
    }
  }
  return query;
}

/**
 * Turns one `log`/`error` argument into text: strings as they are, errors with their stack,
 * everything else JSON-encoded (falling back to `String(value)` when it cannot be).
 *
 * @param {unknown} value
 */
export function formatValue(value) {
  if (typeof value === 'string') {
    return value;
  }
  if (value instanceof Error) {
    return formatError(value);
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    return String(value);
  }
  if (typeof value === 'bigint') {
    return value.toString();
  }
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
  }
}

/**
 * Joins `log(...)` arguments with spaces, as `console.log` does.
 *
 * @param {unknown[]} values
 */
export function formatMessage(values) {
  return values.map(formatValue).join(' ');
}

/**
 * The text of a thrown value for the execution's errors: `Name: message` and the stack for an
 * `Error`, the value itself otherwise.
 *
 * @param {unknown} thrown
 */
export function formatError(thrown) {
  if (thrown instanceof Error) {
    const head = thrown.message ? `${thrown.name}: ${thrown.message}` : thrown.name || 'Error';
    const stack = typeof thrown.stack === 'string' ? thrown.stack.trimEnd() : '';
    if (!stack) {
      return head;
    }
    // V8 puts the head in the stack already; SpiderMonkey lists only the frames.
    if (stack.startsWith(head)) {
      return stack;
    }
    const lines = stack.split('\n');
    // The bottom frames are the SDK calling the function and the generated bindings calling
    // the SDK: noise in the function's errors.
    while (lines.length > 1 && SDK_FRAME.test(lines[lines.length - 1])) {
      lines.pop();
    }
    const frames = lines.map((line) => `    at ${line}`).join('\n');
    return `${head}\n${frames}`;
  }
  return formatValue(thrown);
}

/**
 * Bytes from a body given as a string, bytes, an `ArrayBuffer` or a typed array; anything else is
 * converted with `String(...)`.
 *
 * @param {unknown} body
 * @returns {Uint8Array}
 */
export function toBytes(body) {
  if (body === undefined || body === null) {
    return new Uint8Array(0);
  }
  if (body instanceof Uint8Array) {
    return body;
  }
  if (body instanceof ArrayBuffer) {
    return new Uint8Array(body);
  }
  if (ArrayBuffer.isView(body)) {
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }
  if (Array.isArray(body)) {
    return Uint8Array.from(body);
  }
  return encoder.encode(typeof body === 'string' ? body : String(body));
}

/**
 * Header pairs from an object (`{ name: value }` or `{ name: [v1, v2] }`), a `Headers` object, a
 * `Map` or a list of pairs. Names become lower-case.
 *
 * @param {unknown} headers
 * @returns {[string, string][]}
 */
export function headerPairs(headers) {
  if (!headers) {
    return [];
  }
  const entries =
    typeof headers[Symbol.iterator] === 'function' ? [...headers] : Object.entries(headers);
  const pairs = [];
  for (const [name, value] of entries) {
    if (value === undefined || value === null) {
      continue;
    }
    const lower = String(name).toLowerCase();
    for (const item of Array.isArray(value) ? value : [value]) {
      pairs.push([lower, String(item)]);
    }
  }
  return pairs;
}

/** The incoming request, as Appwrite functions see it. */
export class Request {
  #body;
  #headers;
  #query;
  #url;

  /**
   * @param {{ method: string, scheme: string, host: string, port: number, path: string,
   *           queryString: string, headers: [string, string][], body: Uint8Array }} wit
   */
  constructor(wit) {
    this.method = wit.method;
    this.scheme = wit.scheme;
    this.host = wit.host;
    this.port = wit.port;
    this.path = wit.path;
    this.queryString = wit.queryString;
    this.#body = toBytes(wit.body);
    // Repeated headers are joined with ", ", as Node.js does.
    const headers = {};
    for (const [name, value] of wit.headers) {
      const lower = name.toLowerCase();
      headers[lower] = lower in headers ? `${headers[lower]}, ${value}` : value;
    }
    this.#headers = headers;
  }

  /** Header names are lower-case. */
  get headers() {
    return this.#headers;
  }

  // `query` and `url` are computed when first read: most functions read neither, and every
  // per-call step costs interpreted JavaScript.
  get query() {
    this.#query ??= parseQuery(this.queryString);
    return this.#query;
  }

  get url() {
    this.#url ??= buildUrl(this.scheme, this.host, this.port, this.path, this.queryString);
    return this.#url;
  }

  /** The body as bytes. */
  get bodyBinary() {
    return this.#body;
  }

  /** The body as text (UTF-8; invalid sequences become U+FFFD). */
  get bodyText() {
    return decoder.decode(this.#body);
  }

  /** The body as text; the same as `bodyText`. */
  get bodyRaw() {
    return this.bodyText;
  }

  /** The body parsed as JSON; throws when it is not valid JSON. */
  get bodyJson() {
    return JSON.parse(this.bodyText);
  }

  /** `bodyJson` when the content type is JSON and there is a body, `bodyText` otherwise. */
  get body() {
    const contentType = this.#headers['content-type'] ?? '';
    if (contentType.toLowerCase().startsWith(JSON_TYPE) && this.#body.length > 0) {
      return this.bodyJson;
    }
    return this.bodyText;
  }

  /** The plain fields, so that `JSON.stringify(req)` shows the request. */
  toJSON() {
    return {
      method: this.method,
      scheme: this.scheme,
      host: this.host,
      port: this.port,
      path: this.path,
      queryString: this.queryString,
      query: this.query,
      url: this.url,
      headers: this.headers,
      bodyText: this.bodyText,
    };
  }
}

/** What a function returns; made by the `res` methods. */
export class Response {
  /**
   * @param {Uint8Array} body
   * @param {number} statusCode
   * @param {[string, string][]} headers
   */
  constructor(body, statusCode, headers) {
    this.body = body;
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

/**
 * A response with `defaults` headers unless `headers` names them.
 *
 * @param {unknown} body
 * @param {number} statusCode
 * @param {unknown} headers
 * @param {[string, string][]} defaults
 */
function respond(body, statusCode, headers, defaults) {
  const pairs = headerPairs(headers);
  const given = new Set(pairs.map(([name]) => name));
  const all = [...defaults.filter(([name]) => !given.has(name)), ...pairs];
  const status = Number(statusCode ?? 200);
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new TypeError(`invalid status code ${String(statusCode)}`);
  }
  return new Response(toBytes(body), status, all);
}

/** The `res` object: makes the kinds of response a function returns. */
export class ResponseBuilder {
  /** `body` (text or bytes) as `text/plain; charset=utf-8` unless `headers` say otherwise. */
  send(body, statusCode = 200, headers = {}) {
    return respond(body, statusCode, headers, [['content-type', TEXT]]);
  }

  /** `body` as `text/plain; charset=utf-8` unless `headers` say otherwise. */
  text(body, statusCode = 200, headers = {}) {
    return this.send(body === undefined || body === null ? '' : String(body), statusCode, headers);
  }

  /** `value` JSON-encoded, as `application/json`. */
  json(value, statusCode = 200, headers = {}) {
    const json = JSON.stringify(value);
    return respond(json === undefined ? 'null' : json, statusCode, headers, [
      ['content-type', JSON_TYPE],
    ]);
  }

  /** Bytes as `application/octet-stream` unless `headers` say otherwise. */
  binary(bytes, statusCode = 200, headers = {}) {
    return respond(bytes, statusCode, headers, [['content-type', BINARY]]);
  }

  /** 204 with no body. */
  empty() {
    return respond('', 204, {}, []);
  }

  /** A redirect (301 unless given) to `url`, in the `location` header. */
  redirect(url, statusCode = 301, headers = {}) {
    return respond('', statusCode, headers, [['location', String(url)]]);
  }
}

/**
 * Turns what the user's function returned into a `Response`: one made by `res`, or a standard
 * `Response` (from the Fetch API).
 *
 * @param {unknown} value
 * @returns {Promise<Response>}
 */
export async function toResponse(value) {
  if (value instanceof Response) {
    return value;
  }
  if (value === undefined || value === null) {
    throw new Error(
      'Return statement missing. return res.empty() if no response is expected.',
    );
  }
  if (typeof globalThis.Response === 'function' && value instanceof globalThis.Response) {
    const body = new Uint8Array(await value.arrayBuffer());
    return new Response(body, value.status, headerPairs(value.headers));
  }
  if (typeof value === 'object' && 'statusCode' in value && 'body' in value) {
    return respond(value.body, value.statusCode, value.headers, []);
  }
  throw new TypeError(
    'The function must return a response made by res.send, res.text, res.json, res.binary, ' +
      `res.empty or res.redirect, not ${formatValue(value)}`,
  );
}

/**
 * Builds the context for one invocation.
 *
 * @param {ConstructorParameters<typeof Request>[0]} witRequest
 * @param {(message: string) => void} log
 * @param {(message: string) => void} error
 */
export function createContext(witRequest, log, error) {
  const req = new Request(witRequest);
  const res = new ResponseBuilder();
  return {
    req,
    res,
    log: (...values) => log(formatMessage(values)),
    error: (...values) => error(formatMessage(values)),
  };
}

/**
 * Runs `fn` for one invocation and answers with the WIT response record. Throws a string (the
 * error and its stack) when the function fails, which componentize-js turns into `err(string)`.
 *
 * @param {Function} fn the user's function
 * @param {ConstructorParameters<typeof Request>[0]} witRequest
 * @param {(message: string) => void} log
 * @param {(message: string) => void} error
 */
export async function invoke(fn, witRequest, log, error) {
  let response;
  try {
    const context = createContext(witRequest, log, error);
    response = await toResponse(await fn(context));
  } catch (thrown) {
    // A thrown string is what componentize-js maps to `err(string)`; other values trap.
    throw formatError(thrown);
  }
  return {
    statusCode: response.statusCode,
    headers: response.headers,
    body: response.body,
  };
}
