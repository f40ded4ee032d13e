// Answers with the kind of response `?type=` names: `text` (the default), `json`, `html`,
// `binary`, `empty` or `redirect`. `?status=NNN` sets the status code (where the method takes one).
export default async ({ req, res }) => {
  const status = req.query.status ? Number(req.query.status) : undefined;

  switch (req.query.type ?? 'text') {
    case 'text':
      return res.text('Hello, text!', status, { 'x-response-type': 'text' });
    case 'json':
      return res.json({ type: 'json', ok: true }, status);
    case 'html':
      return res.send('<h1>Hello from wafer</h1>', status, {
        'content-type': 'text/html; charset=utf-8',
      });
    case 'binary':
      return res.binary(new Uint8Array([0, 1, 2, 3, 255]), status);
    case 'empty':
      return res.empty();
    case 'redirect':
      return res.redirect('https://appwrite.io/', status);
    default:
      return res.json({ error: `unknown type ${req.query.type}` }, 400);
  }
};
