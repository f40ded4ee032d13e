// Fails on purpose: writes to stderr, then throws. The execution is `failed` (status 500) and its
// errors hold the message and the stack.
export default async ({ req }) => {
  console.error('about to throw');
  throw new Error(`Something went wrong on ${req.method} ${req.path}`);
};
