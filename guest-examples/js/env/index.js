// Reads the function's environment: `?name=VAR` answers with that variable's value (404 when it
// is not set); without `?name`, with the names of all variables.
export default async ({ req, res }) => {
  const name = req.query.name;
  if (!name) {
    return res.json({ names: Object.keys(process.env).sort() });
  }
  if (!(name in process.env)) {
    return res.json({ name, error: 'not set' }, 404);
  }
  return res.json({ name, value: process.env[name] });
};
