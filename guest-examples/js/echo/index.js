// Logs the request and answers with every field of `req` as JSON, so you (and the tests) can see
// what a function receives.
export default async ({ req, res, log }) => {
  // Objects are JSON-encoded in the logs; console.log is captured too.
  log({ method: req.method, path: req.path });
  console.log(`${req.method} ${req.url}`);

  let bodyJson = null;
  try {
    bodyJson = req.bodyJson;
  } catch {
    // Not JSON: `bodyJson` throws, `body` falls back to the text.
  }

  return res.json({
    method: req.method,
    scheme: req.scheme,
    host: req.host,
    port: req.port,
    path: req.path,
    queryString: req.queryString,
    query: req.query,
    url: req.url,
    headers: req.headers,
    body: req.body,
    bodyText: req.bodyText,
    bodyRaw: req.bodyRaw,
    bodyJson,
    // Bytes do not fit in JSON: answer with their count and the first few.
    bodyBinaryLength: req.bodyBinary.length,
    bodyBinaryHead: Array.from(req.bodyBinary.subarray(0, 8)),
  });
};
