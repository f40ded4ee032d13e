#!/usr/bin/env node
// Builds a wafer function written in C into a WebAssembly component.
//
//     node guest-sdks/c/build.mjs path/to/main.c [more.c ...] -o function.wasm
//
// The function defines `int wafer_main(wafer_context *ctx)` (see include/wafer.h). Two steps:
//
//  1. `zig cc --target=wasm32-wasi -mexec-model=reactor` (zig from the PyPI package ziglang, in
//     guest-sdks/c/.venv) compiles the function with the SDK (src/wafer.c) and the bindings
//     wit-bindgen generated for the `function` world (bindings/function.c), and links in
//     bindings/function_component_type.o, which carries the world's component type.
//  2. jco's componentNew (wasm-tools' `component new`, compiled to JavaScript and WebAssembly)
//     wraps that WASI preview1 module into a component with the preview1 reactor adapter that
//     jco ships, so it imports WASI 0.2 and exports wafer:function/handler.
//
// Options: -o/--out FILE (required), -I DIR (more include directories), -D NAME[=VALUE],
// -O LEVEL (zig cc's optimization: s (default), 2, 3, 0), --keep-core (also write FILE.core.wasm).
// Environment: WAFER_ZIG (a command that runs `zig`, e.g. "zig"; default: the venv's
// `python -m ziglang`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SDK = dirname(fileURLToPath(import.meta.url));

function usage(message) {
  if (message) console.error(`error: ${message}`);
  console.error("usage: node build.mjs main.c [more.c ...] -o function.wasm [-I dir] [-D name=value] [-O s|0|1|2|3] [--keep-core]");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { sources: [], includes: [], defines: [], optimize: "s", keepCore: false, out: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${arg} needs a value`));
    if (arg === "-o" || arg === "--out") opts.out = resolve(value());
    else if (arg === "-I") opts.includes.push(resolve(value()));
    else if (arg === "-D") opts.defines.push(value());
    else if (arg === "-O") opts.optimize = value();
    else if (arg === "--keep-core") opts.keepCore = true;
    else if (arg === "-h" || arg === "--help") usage();
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else opts.sources.push(resolve(arg));
  }
  if (!opts.out) usage("-o is required");
  if (opts.sources.length === 0) usage("no C source given");
  for (const source of opts.sources) {
    if (!existsSync(source)) usage(`${source} does not exist`);
  }
  if (!/^[0123sz]$/.test(opts.optimize)) usage(`-O ${opts.optimize}: expected 0, 1, 2, 3, s or z`);
  return opts;
}

function zigCommand() {
  if (process.env.WAFER_ZIG) return process.env.WAFER_ZIG.split(" ").filter(Boolean);
  const python = join(SDK, ".venv", "bin", "python");
  if (!existsSync(python)) {
    console.error(`error: ${python} is missing: run scripts/build-guests.sh c (or make the venv with guest-sdks/c/requirements.txt)`);
    process.exit(1);
  }
  return [python, "-m", "ziglang"];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const stage = mkdtempSync(join(tmpdir(), "wafer-c-"));
  try {
    const core = join(stage, "core.wasm");
    const [zig, ...zigArgs] = zigCommand();
    const args = [
      ...zigArgs, "cc",
      "--target=wasm32-wasi", "-mexec-model=reactor",
      `-O${opts.optimize}`, ...(opts.optimize === "0" ? [] : ["-s"]),
      "-Wall", "-Wextra",
      "-I", join(SDK, "include"), "-I", join(SDK, "bindings"),
      ...opts.includes.flatMap((dir) => ["-I", dir]),
      ...opts.defines.map((define) => `-D${define}`),
      ...opts.sources,
      join(SDK, "src", "wafer.c"),
      join(SDK, "bindings", "function.c"),
      join(SDK, "bindings", "function_component_type.o"),
      "-o", core,
    ];
    const compiled = spawnSync(zig, args, { stdio: "inherit" });
    if (compiled.error) throw compiled.error;
    if (compiled.status !== 0) {
      console.error(`error: zig cc failed on ${opts.sources.map((s) => relative(process.cwd(), s)).join(" ")}`);
      process.exit(compiled.status || 1);
    }

    const { componentNew, preview1AdapterReactorPath } = await import("@bytecodealliance/jco");
    const adapter = readFileSync(preview1AdapterReactorPath());
    let component;
    try {
      component = await componentNew(readFileSync(core), [["wasi_snapshot_preview1", adapter]]);
    } catch (error) {
      console.error(`error: could not make a component: ${error?.message ?? error}`);
      process.exit(1);
    }

    mkdirSync(dirname(opts.out), { recursive: true });
    const partial = `${opts.out}.partial`;
    writeFileSync(partial, component);
    renameSync(partial, opts.out);
    if (opts.keepCore) writeFileSync(`${opts.out}.core.wasm`, readFileSync(core));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const kib = statSync(opts.out).size / 1024;
  console.error(`built ${relative(process.cwd(), opts.out)} (${kib.toFixed(0)} KiB) in ${seconds.toFixed(1)} s`);
}

await main();
