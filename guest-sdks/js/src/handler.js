// Wires a user's function to the component: implements the `wafer:function/handler` export with
// the `context` and `wasi:cli/environment` imports. Only meaningful inside a component built by
// `build.mjs` (componentize-js resolves the WIT import specifiers below).

import { log, error } from 'wafer:function/context@0.1.0';
import { getEnvironment } from 'wasi:cli/environment@0.2.12';

import { invoke } from './context.js';

/**
 * Gives the function the environment of this invocation as `process.env`. The component is
 * pre-initialized at build time, so this must run per invocation, not at module top level.
 */
function installProcessEnv() {
  const env = Object.fromEntries(getEnvironment());
  const process = globalThis.process ?? (globalThis.process = {});
  process.env = env;
}

/**
 * The `handler` export for `fn`, the user's `async ({ req, res, log, error }) => ...`.
 *
 * @param {Function} fn
 */
export function createHandler(fn) {
  if (typeof fn !== 'function') {
    throw new TypeError(
      'A wafer function module must `export default` a function: ' +
        'export default async ({ req, res, log, error }) => res.text("Hello")',
    );
  }
  return {
    async handle(request) {
      installProcessEnv();
      return invoke(fn, request, log, error);
    },
  };
}
