// What the browser tests stand on: a real `wafer serve` on a loopback port over a fresh data
// directory with a fresh admin key, a headless browser from the system (Chromium, or Firefox
// ESR; never a downloaded browser) with a fresh profile, the API for arranging and checking
// state, and screenshots of failures under target/.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const WAFER = process.env.WAFER || join(ROOT, 'target/debug/wafer');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** `chromium` (the default) or `firefox` (Debian's firefox-esr, driven over WebDriver BiDi). */
export const BROWSER = process.env.BROWSER || 'chromium';
export const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const SCREENSHOTS = join(ROOT, 'target/browser-screenshots');
const RUST_EXAMPLES = join(ROOT, 'guest-examples/rust/target/wasm32-wasip2/release');

/** The bytes of the Rust example component `name`, built by scripts/browser-tests.sh. */
export function rustExample(name) {
  return readFileSync(join(RUST_EXAMPLES, `${name}.wasm`));
}

function leb128(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

/**
 * `component` with a custom section of `padding` bytes appended: still the same valid
 * component (custom sections carry no semantics), but big enough to need a chunked upload.
 */
export function padded(component, padding) {
  const name = Buffer.from('wafer-test-padding');
  const payload = Buffer.concat([leb128(name.length), name, Buffer.alloc(padding, 0x2a)]);
  return Buffer.concat([component, Buffer.from([0]), leb128(payload.length), payload]);
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Polls `check` until it returns something truthy; fails with `what` after `ms`. */
export async function eventually(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** A running `wafer serve`; `stop()` ends it and removes its data. */
export async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'wafer-browser-'));
  const port = await freePort();
  const key = randomBytes(24).toString('hex');
  const log = [];
  const child = spawn(WAFER, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--admin-key', key], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  child.stdout.on('data', (chunk) => log.push(chunk));
  child.stderr.on('data', (chunk) => log.push(chunk));
  const exited = new Promise((done) => child.once('exit', done));
  const base = `http://127.0.0.1:${port}`;
  try {
    await eventually('wafer serve to answer', async () => (await fetch(`${base}/v1/openapi.json`)).ok, 30_000);
  } catch (error) {
    child.kill();
    throw new Error(`${error.message}\n${Buffer.concat(log).toString()}`);
  }
  return {
    base,
    key,
    log: () => Buffer.concat(log).toString(),
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client of the server's /v1 API with the admin key, for arranging and checking. */
export function apiClient(server) {
  const headers = { 'x-appwrite-project': 'default', 'x-appwrite-key': server.key };
  const call = async (method, path, body) => {
    const init = { method, headers: { ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${server.base}/v1${path}`, init);
    const text = await response.text();
    const json = text && (response.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : text;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return json;
  };
  return {
    call,
    /** Creates `id` and deploys `bytes` as its active deployment, waiting for the build. */
    async deploy(id, name, bytes, execute = ['any']) {
      await call('POST', '/functions', { functionId: id, name, runtime: 'rust-wasi-0.2', execute });
      const form = new FormData();
      form.append('activate', 'true');
      form.append('code', new Blob([bytes]), `${id}.wasm`);
      const deployment = await call('POST', `/functions/${id}/deployments`, form);
      await eventually(`${id} to be active`, async () =>
        (await call('GET', `/functions/${id}`)).deploymentId === deployment.$id);
      return deployment;
    },
    execute: (id, body) => call('POST', `/functions/${id}/executions`, body),
  };
}

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * The headless browser with a fresh profile; `close()` removes it. Files the pages download
 * land in `browser.downloads` (contexts from `newContext(browser)` included).
 */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), `wafer-${BROWSER}-`));
  const downloads = join(profile, 'downloads');
  mkdirSync(downloads);
  const options = BROWSER === 'firefox'
    ? {
      browser: 'firefox',
      executablePath: FIREFOX,
      userDataDir: profile,
      extraPrefsFirefox: {
        'browser.download.dir': downloads,
        'browser.download.folderList': 2,
        'browser.download.useDownloadDir': true,
        'browser.download.always_ask_before_handling_new_types': false,
      },
    }
    : { executablePath: CHROMIUM, args: [...FLAGS, `--user-data-dir=${profile}`] };
  const browser = await puppeteer.launch({ ...options, headless: true, defaultViewport: { width: 1280, height: 860 } });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true });
  };
  browser.downloads = downloads;
  return browser;
}

/** A fresh browser context (its own storage) that saves downloads in `browser.downloads`. */
export function newContext(browser) {
  // Firefox takes the folder from its preferences; Chromium from the context.
  return browser.createBrowserContext(BROWSER === 'firefox' ? {}
    : { downloadBehavior: { policy: 'allow', downloadPath: browser.downloads } });
}

/** Runs `body(page)`; when it fails, saves a screenshot under target/ and says where. */
export async function withScreenshot(page, name, body) {
  try {
    await body();
  } catch (error) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const path = join(SCREENSHOTS, `${BROWSER}-${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
    try {
      writeFileSync(path, await page.screenshot({ fullPage: true }));
      console.error(`# screenshot of the failure: ${path}`);
    } catch (shotError) {
      console.error(`# no screenshot: ${shotError.message}`);
    }
    throw error;
  }
}

/** Opens the console and signs in with the server's key (typed, submitted with Enter). */
export async function signIn(page, server) {
  await page.goto(`${server.base}/console/`);
  await page.waitForSelector('#sign-in #key');
  await page.type('#key', server.key);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#functions');
}

/** The visible text of `selector`. */
export function textOf(page, selector) {
  return page.$eval(selector, (el) => el.innerText);
}
