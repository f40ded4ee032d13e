// The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else, and one
// line each in the logs and the errors.
export default async ({ req, res, log, error }) => {
  log('Hello, Logs!');
  error('Hello, Errors!');

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
