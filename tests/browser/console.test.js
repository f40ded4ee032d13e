// The web console in headless Chromium (or Firefox, with BROWSER=firefox) against a real
// `wafer serve`: signing in, creating a function, uploading a deployment by drag-and-drop in
// SDK-sized chunks, running it, watching its executions arrive with their logs, the chart, and
// that tenant data never becomes markup.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BROWSER, ROOT, apiClient, eventually, launchBrowser, newContext, padded, rustExample, signIn, startServer, textOf, withScreenshot,
} from './harness.js';

const CHUNK = 5 * 1024 * 1024;

describe(`the web console in ${BROWSER}`, () => {
  let server;
  let browser;
  let api;

  before(async () => {
    server = await startServer();
    api = apiClient(server);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A fresh tab (fresh sessionStorage) for `body`, screenshotted if it fails. */
  const inPage = (name, body) => test(name, async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(message.text());
    });
    try {
      await withScreenshot(page, name, () => body(page));
      assert.deepEqual(problems, [], 'the page logged no errors');
    } finally {
      await context.close();
    }
  });

  test('the console sources never build HTML from strings', () => {
    const dir = join(ROOT, 'crates/gateway/console/js');
    for (const file of readdirSync(dir)) {
      const source = readFileSync(join(dir, file), 'utf8');
      assert.doesNotMatch(source, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, file);
    }
  });

  inPage('sign-in refuses a wrong key and keeps the right one in session storage only', async (page) => {
    await page.goto(`${server.base}/console`);
    assert.equal(new URL(page.url()).pathname, '/console/', '/console redirects to /console/');
    await page.waitForSelector('#sign-in');
    assert.equal(await page.$eval('#project', (el) => el.value), 'default');
    assert.equal(await page.$eval('#key', (el) => el.type), 'password');
    await page.type('#key', 'not-the-key');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#sign-in .alert.error');
    assert.match(await textOf(page, '#sign-in .alert.error'), /Sign-in refused/);

    await page.$eval('#key', (el) => { el.value = ''; });
    await page.type('#key', server.key);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#functions');
    const stored = await page.evaluate(() => ({
      session: JSON.parse(sessionStorage.getItem('wafer.console.session')),
      local: localStorage.length,
      cookies: document.cookie,
    }));
    assert.deepEqual(stored, { session: { project: 'default', key: server.key }, local: 0, cookies: '' });
    assert.ok(!page.url().includes(server.key), 'the key is not in the URL');

    await page.click('#sign-out');
    await page.waitForSelector('#sign-in');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  inPage('a key revoked while signed in sends the operator back to sign-in with the reason', async (page) => {
    const key = await api.call('POST', '/projects/default/keys', {
      name: 'console operator', scopes: ['functions.read', 'functions.write', 'executions.read', 'executions.write'],
    });
    await page.goto(`${server.base}/console/`);
    await page.waitForSelector('#sign-in #key');
    await page.type('#key', key.secret);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#functions');

    await api.call('DELETE', `/projects/default/keys/${key.$id}`);
    // The functions list refreshes every few seconds: its next call is refused.
    await page.waitForSelector('#sign-in-notice', { timeout: 15_000 });
    assert.match(await textOf(page, '#sign-in-notice'), /API key is invalid/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the refused key is forgotten');
  });

  inPage('a function is created, deployed by drag-and-drop in chunks, run, and its execution shows its logs', async (page) => {
    const uploads = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/v1/functions/greeter/deployments')) {
        const headers = request.headers();
        uploads.push({ range: headers['content-range'], id: headers['x-appwrite-id'] });
      }
    });
    await signIn(page, server);

    await page.click('#new-function');
    await page.waitForSelector('#create-function');
    await page.type('#create-function input[name=name]', 'Greeter');
    await page.type('#create-function input[name=functionId]', 'greeter');
    await page.click('#create-function button[type=submit]');
    await page.waitForSelector('#dropzone');
    assert.match(page.url(), /#\/functions\/greeter\/deployments$/);

    // A real component, padded past two chunk boundaries, dropped on the zone as a File.
    const component = padded(rustExample('hello'), 2 * CHUNK + 123_456);
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'test-file';
      input.hidden = true;
      document.body.append(input);
    });
    const tmp = join(ROOT, 'target/browser-greeter.wasm');
    writeFileSync(tmp, component);
    await (await page.$('#test-file')).uploadFile(tmp);
    await page.evaluate(() => {
      const transfer = new DataTransfer();
      transfer.items.add(document.getElementById('test-file').files[0]);
      const zone = document.getElementById('dropzone');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => /Uploaded/.test(document.querySelector('#upload-progress')?.innerText || ''), { timeout: 60_000 });
    const size = component.length;
    assert.deepEqual(uploads.map((u) => u.range), [
      `bytes 0-${CHUNK - 1}/${size}`,
      `bytes ${CHUNK}-${2 * CHUNK - 1}/${size}`,
      `bytes ${2 * CHUNK}-${size - 1}/${size}`,
    ], 'chunks of 5 MiB with Content-Range, as the SDKs send them');
    assert.equal(uploads[0].id, undefined, 'the first chunk carries no x-appwrite-id');
    const deploymentId = uploads[1].id;
    assert.ok(deploymentId && uploads[2].id === deploymentId, 'later chunks name the deployment');
    assert.equal(await page.$eval('#upload-progress progress', (el) => el.value), size);

    const row = `#deployments tr[data-deployment-id="${deploymentId}"]`;
    await page.waitForSelector(`${row} .active-marker`, { timeout: 60_000 });
    assert.match(await textOf(page, row), /ready/);
    const stored = await api.call('GET', `/functions/greeter/deployments/${deploymentId}`);
    assert.equal(stored.sourceSize, size);

    await page.click('.tabs a[href$="/run"]');
    await page.waitForSelector('#run-form');
    await page.select('#run-method', 'GET');
    await page.$eval('#run-path', (el) => { el.value = ''; });
    await page.type('#run-path', '/hi?from=console');
    await page.click('#run-submit');
    await page.waitForSelector('#run-result .execution-detail');
    const result = await textOf(page, '#run-result');
    assert.match(result, /Hello, World!/);
    assert.match(result, /Hello, Logs!/);
    assert.match(result, /Hello, Errors!/);
    assert.match(result, /GET \/hi\?from=console/);
    const executionId = await page.$eval('#run-result .execution-detail', (el) => el.dataset.executionId);

    await page.click('.tabs a[href$="/executions"]');
    const executionRow = `#executions tr[data-execution-id="${executionId}"]`;
    await page.waitForSelector(executionRow);
    await page.click(executionRow);
    await page.waitForSelector(`#execution-detail[data-execution-id="${executionId}"]`);
    const detail = await textOf(page, '#execution-detail');
    assert.match(detail, /Hello, Logs!/);
    assert.match(detail, /Response status\s+200/);
    assert.match(page.url(), new RegExp(`/executions/${executionId}$`));

    await page.click('.tabs a[href$="/overview"]');
    await page.waitForSelector('#chart');
    assert.equal(await textOf(page, '#stat-total .stat-value'), '1');
    assert.equal(await page.$$eval('#chart rect.bar', (bars) => bars.length), 1, 'one minute with an execution');
    assert.match(await page.$eval('#chart', (el) => el.getAttribute('aria-label')), /1 executions/);
  });

  inPage('the executions table follows new executions live and filters them', async (page) => {
    await api.deploy('echo', 'Echo', rustExample('echo'));
    await signIn(page, server);
    await page.goto(`${server.base}/console/#/functions/echo/executions`);
    await page.waitForSelector('#executions td.empty');

    // Arrive while the page is open: no reload, no click.
    await api.execute('echo', { method: 'GET', path: '/a' });
    await api.execute('echo', { method: 'POST', path: '/b', body: 'x' });
    await api.execute('echo', { method: 'GET', path: '/c' });
    await page.waitForFunction(() => document.querySelectorAll('#executions tr[data-execution-id]').length === 3);

    await page.select('#execution-filters select[name=method]', 'POST');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#executions tr[data-execution-id]')];
      return rows.length === 1 && rows[0].innerText.includes('/b');
    });
    await page.select('#execution-filters select[name=status]', 'failed');
    await page.waitForSelector('#executions td.empty');
    await page.select('#execution-filters select[name=status]', 'completed');
    await page.select('#execution-filters select[name=range]', '15');
    await page.waitForFunction(() => document.querySelectorAll('#executions tr[data-execution-id]').length === 1);
    await page.select('#execution-filters select[name=method]', '');
    await page.waitForFunction(() => document.querySelectorAll('#executions tr[data-execution-id]').length === 3);
  });

  inPage('a deployment chosen with the file picker is activated and downloaded from its row', async (page) => {
    await api.deploy('picker', 'Picker', rustExample('echo'));
    await signIn(page, server);
    await page.goto(`${server.base}/console/#/functions/picker/deployments`);
    await page.waitForSelector('#deployments tr[data-deployment-id] .active-marker');
    await page.click('#deployments-activate');
    const tmp = join(ROOT, 'target/browser-picker.wasm');
    writeFileSync(tmp, rustExample('hello'));
    await (await page.$('#deployment-file')).uploadFile(tmp);
    await page.waitForFunction(() => document.querySelectorAll('#deployments tr[data-deployment-id]').length === 2);
    const fresh = await page.$eval('#deployments tbody tr', (row) => row.dataset.deploymentId);
    const row = `#deployments tr[data-deployment-id="${fresh}"]`;
    await page.waitForSelector(`${row} button.activate`, { timeout: 60_000 });
    assert.equal(await page.$(`${row} .active-marker`), null, 'uploaded without activating');
    const stored = await api.call('GET', `/functions/picker/deployments/${fresh}`);
    if (stored.buildLogs) assert.ok((await textOf(page, `${row} .build-logs`)).includes('Build logs'));

    await page.click(`${row} button.activate`);
    await page.waitForSelector(`${row} .active-marker`);
    assert.equal((await api.call('GET', '/functions/picker')).deploymentId, fresh);
    await eventually('the header to say live', async () => (await textOf(page, '#function-badges')).includes('live'));

    // The download is a real file in the browser's download folder, byte for byte the upload.
    await page.click(`${row} button.download`);
    const saved = join(browser.downloads, `picker-${fresh}.wasm`);
    await eventually('the download to be saved', () => existsSync(saved) && readFileSync(saved).length > 0);
    assert.deepEqual(readFileSync(saved), rustExample('hello'));
  });

  inPage('names, headers and bodies from the API render as text, never as markup', async (page) => {
    const payload = '<img src=x onerror="window.__xss=(window.__xss||0)+1">';
    await api.deploy('markup', payload, rustExample('echo'));
    await api.execute('markup', {
      method: 'POST', path: `/<b>${encodeURIComponent('x')}</b>`, body: payload, headers: { 'x-note': payload },
    });
    await signIn(page, server);
    await page.waitForFunction((name) => document.querySelector('#functions').innerText.includes(name), {}, payload);

    await page.goto(`${server.base}/console/#/functions/markup/executions`);
    await page.waitForSelector('#executions tr[data-execution-id]');
    await page.click('#executions tr[data-execution-id]');
    await page.waitForSelector('#execution-detail');
    const detail = await textOf(page, '#execution-detail');
    assert.ok(detail.includes(payload), 'the request header and body show as text');
    assert.equal(await textOf(page, '.function-name'), payload);
    const injected = await page.evaluate(() => ({
      xss: typeof window.__xss,
      images: document.querySelectorAll('#view img').length,
      bold: document.querySelectorAll('#view b').length,
    }));
    assert.deepEqual(injected, { xss: 'undefined', images: 0, bold: 0 });
  });

  inPage('a narrow window needs no sideways scrolling', async (page) => {
    await page.setViewport({ width: 380, height: 800 });
    await signIn(page, server);
    for (const tab of ['overview', 'executions', 'deployments', 'run', 'settings']) {
      await page.goto(`${server.base}/console/#/functions/greeter/${tab}`);
      await page.waitForSelector('.tab.active');
      await eventually(`${tab} to render`, () => page.$eval('.tab-body', (el) => el.childElementCount > 0));
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${tab} overflows by ${overflow}px`);
    }
  });

  inPage('settings change the function and keep secrets masked', async (page) => {
    await signIn(page, server);
    await page.goto(`${server.base}/console/#/functions/greeter/settings`);
    await page.waitForSelector('#settings-form');
    await page.$eval('#settings-form input[name=timeout]', (el) => { el.value = '30'; });
    await page.type('#settings-form input[name=schedule]', '*/5 * * * *');
    await page.type('#settings-form textarea[name=outboundHosts]', 'api.example.com');
    await page.click('#settings-form input[name=reuseInstances]');
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('#settings-form .alert.ok');
    const fn = await api.call('GET', '/functions/greeter');
    assert.equal(fn.timeout, 30);
    assert.equal(fn.schedule, '*/5 * * * *');
    assert.deepEqual(fn.outboundHosts, ['api.example.com']);
    assert.equal(fn.reuseInstances, true);

    await page.waitForSelector('#variables');
    await page.type('#variable-form input[name=key]', 'TOKEN');
    await page.type('#variable-form input[name=value]', 'very-secret-value');
    await page.click('#variable-form button[type=submit]');
    await page.waitForSelector('#variables tr[data-variable-id]');
    assert.ok(!(await textOf(page, '#variables')).includes('very-secret-value'), 'the secret is not shown');
    assert.match(await textOf(page, '#variables'), /TOKEN/);
    const { variables } = await api.call('GET', '/functions/greeter/variables');
    assert.deepEqual(variables.map((v) => [v.key, v.secret]), [['TOKEN', true]]);
  });
});
