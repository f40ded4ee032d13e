// Fetches the URL in `?url=` and answers with the upstream's status and body:
// `{"status": 200, "body": "..."}`. A request that fails (the host is not in the function's
// outbound allow-list, or cannot be reached) is a 502 with `{"error": "..."}`.
export default async ({ req, res, error }) => {
  const url = req.query.url;
  if (!url) {
    return res.json({ error: 'missing ?url=' }, 400);
  }
  try {
    const upstream = await fetch(url);
    return res.json({ status: upstream.status, body: await upstream.text() });
  } catch (err) {
    error(`fetch ${url} failed: ${err.message ?? err}`);
    return res.json({ error: String(err.message ?? err) }, 502);
  }
};
