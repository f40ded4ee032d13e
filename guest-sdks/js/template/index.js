// The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else.
//
// `req` is the request (method, path, query, headers, bodyText, bodyJson, body, …) and `res`
// builds the response (text, json, binary, empty, redirect; status and headers as arguments).
// `log(…)` and `error(…)` write a line to the execution's logs and errors; a thrown error fails
// the execution. Relative imports work; npm packages must be bundled into one file first.
export default async ({ req, res, log, error }) => {
  log('Hello, Logs!');

  if (req.method === 'GET') {
    return res.text('Hello, World!');
  }

  return res.json({
    motto: 'Build like a team of hundreds_',
    learn: 'https://appwrite.io/docs',
    connect: 'https://appwrite.io/discord',
    getInspired: 'https://builtwith.appwrite.io',
  });
};
