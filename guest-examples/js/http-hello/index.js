// A standard wasi:http handler in JavaScript, with no wafer SDK: componentize-js's fetch-event
// mode. Built with `--world wasi:http/proxy` (this directory's `world` file says so) and
// deployed to a function of runtime `wasi-http-0.2`.
addEventListener('fetch', (event) => event.respondWith(handle(event.request)));

async function handle(request) {
  const url = new URL(request.url);
  const body = await request.text();
  console.log(`handled ${request.method} ${url.pathname}`);
  return new Response(
    JSON.stringify({
      hello: 'from a fetch-event handler',
      method: request.method,
      path: url.pathname,
      query: url.search,
      trigger: request.headers.get('x-appwrite-trigger'),
      body,
    }),
    { status: 200, headers: { 'content-type': 'application/json' } },
  );
}
