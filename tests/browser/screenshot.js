// Takes the README's screenshot of the console from a real server: deploys example functions,
// sends them traffic for a few minutes (so the chart has minutes to show), and photographs a
// function's overview. Run by `scripts/browser-tests.sh --screenshot`.
// Usage: node tests/browser/screenshot.js OUT.png   (SCREENSHOT_MINUTES of traffic, default 12)

import { writeFileSync } from 'node:fs';
import { apiClient, launchBrowser, rustExample, signIn, startServer } from './harness.js';

const out = process.argv[2] || 'docs/console.png';
const minutes = Number(process.env.SCREENSHOT_MINUTES || 12);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const server = await startServer();
const api = apiClient(server);
const browser = await launchBrowser();
try {
  await api.deploy('storefront', 'Storefront API', rustExample('responses'));
  await api.deploy('hello', 'Hello', rustExample('hello'));
  await api.deploy('echo', 'Echo', rustExample('echo'), []);
  await api.call('POST', '/functions', { functionId: 'nightly-report', name: 'Nightly report', runtime: 'rust-wasi-0.2', schedule: '0 3 * * *' });
  await api.execute('hello', { method: 'GET' });
  await api.execute('echo', { method: 'POST', path: '/orders', body: '{"id":7}' });

  const types = ['json', 'json', 'json', 'text', 'html', 'empty', 'redirect', 'error'];
  const end = Date.now() + minutes * 60_000;
  for (let minute = 0; Date.now() < end; minute += 1) {
    const perMinute = 8 + Math.round(10 * Math.abs(Math.sin(minute * 1.3)));
    for (let i = 0; i < perMinute && Date.now() < end; i += 1) {
      const type = types[Math.floor(Math.random() * types.length)];
      await api.execute('storefront', { method: i % 3 ? 'GET' : 'POST', path: `/?type=${type}` }).catch(() => {});
      await sleep(60_000 / perMinute);
    }
  }

  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
  await signIn(page, server);
  await page.goto(`${server.base}/console/#/functions/storefront`);
  await page.waitForSelector('#chart');
  await page.waitForSelector('#recent-executions');
  await sleep(500);
  // Down to the content, with a margin like the page's own.
  const height = await page.evaluate(() => Math.ceil(document.querySelector('.function-page').getBoundingClientRect().bottom) + 24);
  writeFileSync(out, await page.screenshot({ clip: { x: 0, y: 0, width: 1280, height: Math.min(900, height) } }));
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
