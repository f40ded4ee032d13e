// Wires a user's function to the component: implements the `wafer:function/handler` export with
// the `context` and `wasi:cli/environment` imports. Only meaningful inside a component built by
// `build.mjs` (componentize-js resolves the WIT import specifiers below).

import { log, error } from 'wafer:function/context@0.1.0';
import { getEnvironment } from 'wasi:cli/environment@0.2.12';

import { invoke } from './context.js';

/** Whether this instance has its `process.env` (a reused instance keeps it). */
let envInstalled = false;

/**
 * Gives the function its environment as `process.env`. The component is pre-initialized at build
 * time, so this runs at the first invocation of an instance, not at module top level; an
 * instance the host reuses always runs with the same environment.
 */
function installProcessEnv() {
  if (envInstalled) {
    return;
  }
  envInstalled = true;
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
