#!/usr/bin/env node
// Builds a wafer function written in JavaScript into a WebAssembly component.
//
//   node guest-sdks/js/build.mjs path/to/function/index.js -o function.wasm
//
// The function file is an ES module whose default export is the function:
//
//   export default async ({ req, res, log, error }) => res.json({ ok: true });
//
// The function's directory (or `--root`) is copied next to the SDK into a staging directory, an
// entry module that imports both is generated, and componentize-js turns it into a component of
// the `function` world in `wit/`. Relative imports inside the root work; bare imports
// (`import x from 'some-package'`) do not: bundle such code into one file first.
//
// With `--world wasi:http/proxy` the file is built as it is, without the SDK, into a standard
// wasi:http component (componentize-js's fetch-event mode): it handles requests with
// `addEventListener('fetch', (event) => event.respondWith(new Response(...)))`. Deploy such a
// component to a function of runtime `wasi-http-0.2`.

import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const sdkDir = dirname(fileURLToPath(import.meta.url));
const defaultWit = resolve(sdkDir, '..', '..', 'wit');
/** Files of a function's root that never belong in the component. */
const SKIPPED = new Set(['node_modules', 'build', '.git']);

const USAGE = `Usage: node build.mjs <function.js> -o <out.wasm> [options]

Options:
  -o, --out <path>     the component to write (required)
      --root <dir>     the directory holding the function's modules (default: the file's directory)
      --wit <dir>      the WIT directory (default: ${relative(process.cwd(), defaultWit) || '.'})
      --world <name>   the world to target (default: function; wasi:http/proxy builds a
                       fetch-event handler without the SDK)
      --keep           keep the staging directory and print its path
  -h, --help           show this help`;

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

function parse() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        root: { type: 'string' },
        wit: { type: 'string', default: defaultWit },
        world: { type: 'string', default: 'function' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    fail(`${err.message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 1 || !values.out) {
    fail(`expected one function file and --out\n\n${USAGE}`);
  }
  const source = resolve(positionals[0]);
  if (!existsSync(source) || !statSync(source).isFile()) {
    fail(`function file ${positionals[0]} does not exist`);
  }
  const root = resolve(values.root ?? dirname(source));
  if (source !== root && !source.startsWith(root + sep)) {
    fail(`the function file ${positionals[0]} is not inside --root ${values.root}`);
  }
  if (!existsSync(values.wit)) {
    fail(`WIT directory ${values.wit} does not exist`);
  }
  return { ...values, source, root, out: resolve(values.out), wit: resolve(values.wit) };
}

/** Copies the function's root into `target`, leaving out dependencies and build output. */
async function copyRoot(root, target) {
  await mkdir(target, { recursive: true });
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (SKIPPED.has(entry.name) || entry.name.startsWith('.')) {
      continue;
    }
    await cp(join(root, entry.name), join(target, entry.name), { recursive: true });
  }
}

/**
 * The WASI 0.2 release whose `wasi:http` StarlingMonkey (inside componentize-js) implements its
 * fetch-event handler against; wafer's host serves any 0.2 release.
 */
const FETCH_EVENT_WASI_VERSION = '0.2.10';

/**
 * Writes a WIT package for the fetch-event mode: a world including `wasi:http/proxy` at
 * {@link FETCH_EVENT_WASI_VERSION}, with wafer's WASI packages relabelled to that release
 * (items introduced after it are left out).
 */
async function writeFetchEventWit(wit, target) {
  const deps = join(target, 'deps');
  await cp(join(wit, 'deps'), deps, { recursive: true });
  const later = new RegExp(`\\s*@since\\(version = 0\\.2\\.(\\d+)\\)\\n[^\\n]*\\n`, 'g');
  for (const dir of await readdir(deps)) {
    for (const file of await readdir(join(deps, dir))) {
      const path = join(deps, dir, file);
      const text = await readFile(path, 'utf8');
      const minor = Number(FETCH_EVENT_WASI_VERSION.split('.')[2]);
      const kept = text.replace(later, (item, patch) => (Number(patch) > minor ? '\n' : item));
      await writeFile(path, kept.replace(/@0\.2\.\d+/g, `@${FETCH_EVENT_WASI_VERSION}`));
    }
  }
  await writeFile(
    join(target, 'world.wit'),
    `package wafer:fetch-event;\n\nworld proxy {\n  include wasi:http/proxy@${FETCH_EVENT_WASI_VERSION};\n}\n`,
  );
}

/** The generated module componentize-js builds: the SDK's handler around the user's export. */
function entrySource(modulePath) {
  const specifier = `./fn/${modulePath.split(sep).join('/')}`;
  return `// Generated by wafer's build.mjs: do not edit.
import * as userModule from ${JSON.stringify(specifier)};
import { createHandler } from './wafer-sdk/handler.js';

export const handler = createHandler(userModule.default ?? userModule.main);
`;
}

async function main() {
  const options = parse();
  let componentize;
  try {
    ({ componentize } = await import('@bytecodealliance/componentize-js'));
  } catch (err) {
    fail(`componentize-js is not installed (run \`npm ci\` in ${sdkDir}): ${err.message}`);
  }

  const stage = await mkdtemp(join(tmpdir(), 'wafer-js-'));
  try {
    await copyRoot(options.root, join(stage, 'fn'));
    let entry = join(stage, 'fn', relative(options.root, options.source));
    let { wit, world } = options;
    if (world === 'wasi:http/proxy') {
      wit = join(stage, 'wit');
      world = 'proxy';
      await writeFetchEventWit(options.wit, wit);
    } else {
      await cp(join(sdkDir, 'src'), join(stage, 'wafer-sdk'), { recursive: true });
      entry = join(stage, 'entry.js');
      await writeFile(entry, entrySource(relative(options.root, options.source)));
    }

    const started = Date.now();
    // componentize-js maps the entry's directory to `/` while it pre-initializes the module, so
    // stack traces name `fn/…` rather than temporary paths.
    const { component } = await componentize({
      sourcePath: entry,
      witPath: wit,
      worldName: world,
    });
    await mkdir(dirname(options.out), { recursive: true });
    // Write then rename, so an interrupted build never leaves a truncated component behind.
    const partial = `${options.out}.partial`;
    await writeFile(partial, component);
    await rename(partial, options.out);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const mib = (component.length / (1024 * 1024)).toFixed(1);
    console.error(`built ${relative(process.cwd(), options.out)} (${mib} MiB) in ${seconds} s`);
  } catch (err) {
    fail(`could not build ${basename(options.source)}: ${err.message ?? err}`);
  } finally {
    if (options.keep) {
      console.error(`staging directory kept at ${stage}`);
    } else {
      await rm(stage, { recursive: true, force: true });
    }
  }
}

await main();
