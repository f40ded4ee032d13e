// Unit tests of the SDK's pure part, on the host: `node --test test/`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  Response,
  buildUrl,
  createContext,
  formatError,
  formatMessage,
  invoke,
  parseQuery,
  toResponse,
} from '../src/context.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function witRequest(overrides = {}) {
  return {
    method: 'POST',
    scheme: 'https',
    host: 'example.com',
    port: 443,
    path: '/items',
    queryString: 'a=1&b=two+words&a=3&c=%2F',
    headers: [
      ['content-type', 'application/json'],
      ['X-Multi', 'one'],
      ['x-multi', 'two'],
    ],
    body: encoder.encode('{"hello":"world"}'),
    ...overrides,
  };
}

function context(overrides) {
  const logs = [];
  const errors = [];
  const ctx = createContext(
    witRequest(overrides),
    (m) => logs.push(m),
    (m) => errors.push(m),
  );
  return { ctx, logs, errors };
}

test('url leaves out default ports and brackets IPv6 hosts', () => {
  assert.equal(buildUrl('https', 'example.com', 443, '/a', ''), 'https://example.com/a');
  assert.equal(buildUrl('http', 'example.com', 8080, '/a', 'x=1'), 'http://example.com:8080/a?x=1');
  assert.equal(buildUrl('http', '::1', 80, 'a', ''), 'http://[::1]/a');
});

test('query is decoded and keeps the first value of a repeated key', () => {
  assert.deepEqual(parseQuery('a=1&b=two+words&a=3&c=%2F&flag'), {
    a: '1',
    b: 'two words',
    c: '/',
    flag: '',
  });
});

test('req exposes every field', () => {
  const { ctx } = context();
  const { req } = ctx;
  assert.equal(req.method, 'POST');
  assert.equal(req.scheme, 'https');
  assert.equal(req.host, 'example.com');
  assert.equal(req.port, 443);
  assert.equal(req.path, '/items');
  assert.equal(req.queryString, 'a=1&b=two+words&a=3&c=%2F');
  assert.deepEqual(req.query, { a: '1', b: 'two words', c: '/' });
  assert.equal(req.url, 'https://example.com/items?a=1&b=two+words&a=3&c=%2F');
  assert.deepEqual(req.headers, { 'content-type': 'application/json', 'x-multi': 'one, two' });
  assert.equal(req.bodyText, '{"hello":"world"}');
  assert.equal(req.bodyRaw, '{"hello":"world"}');
  assert.deepEqual(req.bodyJson, { hello: 'world' });
  assert.deepEqual(req.body, { hello: 'world' });
  assert.deepEqual(Array.from(req.bodyBinary.subarray(0, 2)), [123, 34]);
});

test('body is text unless the content type is JSON; bodyJson throws on bad JSON', () => {
  const { ctx } = context({ headers: [['content-type', 'text/plain']], body: encoder.encode('hi') });
  assert.equal(ctx.req.body, 'hi');
  assert.throws(() => ctx.req.bodyJson, SyntaxError);
  const empty = context({ body: new Uint8Array(0) }).ctx;
  assert.equal(empty.req.body, '');
});

test('res methods set status, headers and body', () => {
  const { res } = context().ctx;
  let r = res.send('hi');
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.headers, [['content-type', 'text/plain; charset=utf-8']]);
  assert.equal(decoder.decode(r.body), 'hi');

  r = res.text('made', 201, { 'X-One': '1', 'Set-Cookie': ['a=1', 'b=2'] });
  assert.equal(r.statusCode, 201);
  assert.deepEqual(r.headers, [
    ['content-type', 'text/plain; charset=utf-8'],
    ['x-one', '1'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ]);

  r = res.send('<h1>x</h1>', 200, { 'Content-Type': 'text/html' });
  assert.deepEqual(r.headers, [['content-type', 'text/html']]);

  r = res.json({ ok: true }, 418, { 'x-a': 'b' });
  assert.equal(r.statusCode, 418);
  assert.deepEqual(r.headers, [['content-type', 'application/json'], ['x-a', 'b']]);
  assert.equal(decoder.decode(r.body), '{"ok":true}');

  r = res.binary(new Uint8Array([0, 255]));
  assert.deepEqual(r.headers, [['content-type', 'application/octet-stream']]);
  assert.deepEqual(Array.from(r.body), [0, 255]);

  r = res.empty();
  assert.equal(r.statusCode, 204);
  assert.equal(r.body.length, 0);

  r = res.redirect('https://appwrite.io/');
  assert.equal(r.statusCode, 301);
  assert.deepEqual(r.headers, [['location', 'https://appwrite.io/']]);
  assert.equal(res.redirect('/x', 302).statusCode, 302);

  assert.throws(() => res.text('x', 42), TypeError);
});

test('log and error JSON-encode objects and join arguments', () => {
  const { ctx, logs, errors } = context();
  ctx.log('plain', { a: 1 }, [1, 2], 3, null, undefined);
  ctx.error({ nested: { ok: true } });
  assert.deepEqual(logs, ['plain {"a":1} [1,2] 3 null undefined']);
  assert.deepEqual(errors, ['{"nested":{"ok":true}}']);
  const cyclic = {};
  cyclic.self = cyclic;
  assert.equal(formatMessage([cyclic]), '[object Object]');
});

test('a thrown error becomes its name, message and stack', () => {
  const text = formatError(new RangeError('out of range'));
  assert.match(text, /^RangeError: out of range\n/);
  assert.equal(formatError('just a string'), 'just a string');
  assert.equal(formatError({ code: 7 }), '{"code":7}');
});

test('invoke awaits the function and lowers the response', async () => {
  const out = await invoke(
    async ({ res }) => res.json({ ok: true }, 201),
    witRequest(),
    () => {},
    () => {},
  );
  assert.equal(out.statusCode, 201);
  assert.equal(decoder.decode(out.body), '{"ok":true}');
});

test('invoke throws a string for a failure, a missing return or a wrong value', async () => {
  const run = (fn) => invoke(fn, witRequest(), () => {}, () => {});
  await assert.rejects(run(async () => { throw new Error('boom'); }), (thrown) => {
    assert.equal(typeof thrown, 'string');
    assert.match(thrown, /^Error: boom/);
    return true;
  });
  await assert.rejects(run(async () => {}), /Return statement missing/);
  await assert.rejects(run(async () => 42), /must return a response/);
});

test('a standard Response is accepted', async () => {
  const r = await toResponse(new globalThis.Response('hey', { status: 202, headers: { 'X-A': 'b' } }));
  assert.ok(r instanceof Response);
  assert.equal(r.statusCode, 202);
  assert.equal(decoder.decode(r.body), 'hey');
  assert.ok(r.headers.some(([n, v]) => n === 'x-a' && v === 'b'));
});
