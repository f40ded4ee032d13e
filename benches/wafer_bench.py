#!/usr/bin/env python3
"""The wafer-only parts of benches/run.sh that are not HTTP throughput: cold start, deploy to
ready, and density (resident memory with many deployed functions, and how many one node holds).

Standard library only. Each section starts its own `wafer serve` on a fresh data directory under
--workdir (deploy and cold share one when both run: cold restarts the server deploy used),
drives it over the REST API on loopback, and writes SECTION.md (a markdown fragment) and
SECTION.json into --outdir. Run by benches/run.sh; usable alone:

    python3 benches/wafer_bench.py deploy,cold --wafer target/release/wafer --port 18490 \\
        --workdir /tmp/wb --outdir /tmp/wb --rust R.wasm --js J.wasm --python P.wasm

Every deployed component is made unique by appending a top-level custom section
(`0x00 <size> <name-len> "wafer-bench" <tag>`): the server keys compiled artifacts by the
SHA-256 of the bytes, so unique bytes force a real compile, as a new user deployment would.
"""

import argparse
import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

from bench_report import splice
from wafer_api import (
    HELLO,
    RUNTIMES,
    LABELS,
    log,
    unique_component,
    ApiFailure,
    create_function,
    upload,
    deploy,
    SERVERS,
    Server,
    median,
    mib,
    gib,
    du_kib,
)


def read_components(args):
    comps = {}
    for lang in ("rust", "js", "python"):
        path = getattr(args, lang)
        if path:
            with open(path, "rb") as f:
                comps[lang] = f.read()
    return comps


# ---------------------------------------------------------------------------------------------
# Cold start


def timed_get(client, function_id):
    t0 = time.perf_counter()
    status, body = client.get_fn(function_id)
    elapsed = (time.perf_counter() - t0) * 1000
    if status != 200 or body != HELLO:
        raise ApiFailure(f"GET /fn/{function_id}/: HTTP {status}: {body[:300]!r}")
    return elapsed


def section_cold(args, out, prepared=None):
    """Restarts the server (memory empty, compiled artifacts on disk) RESTARTS times; after each
    restart, primes the process with one other function, then times the first request to each
    language's function (loaded from its artifact) and WARM_REQUESTS warm ones.

    `prepared` is (server, {language or "primer": function id}) left by the deploy section, whose
    functions are reused; otherwise this section deploys its own."""
    comps = read_components(args)
    if prepared:
        server, ids = prepared
        server.stop()
    else:
        server = Server(args, "cold")
        server.start()
        client = server.client()
        ids = {"primer": "cold-primer"}
        log("cold: deploying the primer and one function per language (compiles each once)")
        deploy(client, "cold-primer", RUNTIMES["rust"], unique_component(comps["rust"], f"primer-{uuid.uuid4()}"))
        for lang, wasm in comps.items():
            ids[lang] = f"cold-{lang}"
            t0 = time.monotonic()
            deploy(client, ids[lang], RUNTIMES[lang], unique_component(wasm, f"cold-{lang}-{uuid.uuid4()}"))
            log(f"cold: {lang} deployed in {time.monotonic() - t0:.1f} s")
        client.close()
    comps = {lang: wasm for lang, wasm in comps.items() if lang in ids}
    cold = {lang: [] for lang in comps}
    warm = {lang: [] for lang in comps}
    starts = []
    for r in range(args.restarts):
        server.stop()
        starts.append(server.start())
        client = server.client()
        timed_get(client, ids["primer"])
        timed_get(client, ids["primer"])
        order = list(comps)
        order = order[r % len(order):] + order[: r % len(order)]  # rotate who goes first
        for lang in order:
            cold[lang].append(timed_get(client, ids[lang]))
            warm[lang].extend(timed_get(client, ids[lang]) for _ in range(args.warm_requests))
        client.close()
        log("cold: restart {}: {}".format(
            r + 1, ", ".join(f"{lang} first {cold[lang][-1]:.2f} ms" for lang in order)))
    server.stop()
    results = {}
    lines = [
        "| language | component | first request after restart, median (ms) | min–max (ms) "
        "| warm request, median (ms) | cold − warm (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for lang in comps:
        c, w = median(cold[lang]), median(warm[lang])
        results[lang] = {"cold_ms": c, "warm_ms": w, "cold_minus_warm_ms": c - w,
                         "cold_samples_ms": cold[lang]}
        lines.append(
            f"| {LABELS[lang]} hello | {len(comps[lang]) / 1048576:.1f} MiB | {c:.2f} | "
            f"{min(cold[lang]):.2f}–{max(cold[lang]):.2f} | {w:.2f} | {c - w:.2f} |"
        )
    lines.append("")
    lines.append(
        f"{args.restarts} restarts of `wafer serve` on the same data directory (median server start "
        f"to first API answer: {median(starts) * 1000:.0f} ms). After each, one request to another "
        "function absorbs the process's own first-request costs; then each language's function gets "
        f"its first request (loaded from the compiled artifact on disk, which the OS page cache may "
        f"still hold) and {args.warm_requests} warm ones, on one keep-alive connection. Times are "
        "whole HTTP requests measured by the client (`GET /fn/{id}/`)."
    )
    out.write("\n".join(lines) + "\n")
    return results


# ---------------------------------------------------------------------------------------------
# Deploy to ready


def section_deploy(args, out, keep=False):
    """Wall time from the first byte of the upload until the route first answers hello, with
    bytes the server has never seen (custom section), SAMPLES_<LANG> times per language.

    With `keep`, leaves the server running and returns (results, (server, ids)) with one
    deployed function per language and a primer, for the cold section."""
    comps = read_components(args)
    samples = {"rust": args.deploy_samples_rust, "js": args.deploy_samples_js,
               "python": args.deploy_samples_python}
    if keep:
        samples = {lang: max(1, n) for lang, n in samples.items()}
    server = Server(args, "deploy")
    server.start()
    client = server.client()
    poller = server.client()
    ids = {}
    if keep:
        ids["primer"] = "deploy-primer"
        deploy(client, "deploy-primer", RUNTIMES["rust"], unique_component(comps["rust"], f"primer-{uuid.uuid4()}"))
    results = {}
    rows = []
    for lang in ("rust", "js", "python"):
        if lang not in comps or samples[lang] <= 0:
            continue
        totals, uploads, readies = [], [], []
        for i in range(samples[lang]):
            fid = f"deploy-{lang}-{i}"
            create_function(client, fid, RUNTIMES[lang])
            code = unique_component(comps[lang], f"deploy-{uuid.uuid4()}")
            status, _ = poller.get_fn(fid)
            assert status != 200, "a function without a deployment answered"
            t0 = time.perf_counter()
            dep = upload(client, fid, code)
            t_up = time.perf_counter()
            t_ready = None
            while True:
                status, body = poller.get_fn(fid)
                if status == 200 and body == HELLO:
                    break
                if status == 200:
                    raise ApiFailure(f"{fid}: unexpected body {body[:200]!r}")
                doc = client.json("GET", f"/v1/functions/{fid}/deployments/{dep}")
                if doc["status"] == "failed":
                    raise ApiFailure(f"{fid}: build failed: {str(doc.get('buildLogs'))[-800:]}")
                if doc["status"] == "ready" and t_ready is None:
                    t_ready = time.perf_counter()
                if time.perf_counter() - t0 > 900:
                    raise ApiFailure(f"{fid}: no answer 900 s after upload")
                time.sleep(args.poll_interval)
            t1 = time.perf_counter()
            ids.setdefault(lang, fid)
            totals.append(t1 - t0)
            uploads.append(t_up - t0)
            readies.append((t_ready or t1) - t0)
            log(f"deploy: {lang} #{i + 1}: {t1 - t0:.3f} s (upload {t_up - t0:.3f} s)")
        results[lang] = {"deploy_to_first_execution_s": median(totals), "samples_s": totals,
                         "upload_s": median(uploads), "bytes": len(comps[lang])}
        rows.append(
            f"| {LABELS[lang]} hello | {len(comps[lang]) / 1048576:.2f} MiB | {median(totals):.3f} | "
            f"{min(totals):.3f}–{max(totals):.3f} | {median(uploads):.3f} | {len(totals)} |"
        )
    client.close()
    poller.close()
    if not keep:
        server.stop()
    lines = [
        "| function | component | deploy to first execution, median (s) | min–max (s) "
        "| of which upload (s) | samples |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "From the first byte of `POST /v1/functions/{id}/deployments` (multipart, `activate=true`; "
        "5 MiB chunks with `Content-Range` above 5 MiB, as the SDKs send) until `GET /fn/{id}/` "
        f"first returns `Hello, World!`, polled every {args.poll_interval * 1000:.0f} ms. The "
        "function exists beforehand; each upload carries bytes the server has never compiled "
        "(a unique custom section), so every sample is a full validate + compile + activate.",
    ]
    out.write("\n".join(lines) + "\n")
    return (results, (server, ids)) if keep else results


# ---------------------------------------------------------------------------------------------
# Density


class Deployer:
    """Deploys functions d00000, d00001, ... with distinct Rust hello bytes, in parallel."""

    def __init__(self, server, wasm, parallel):
        self.server, self.wasm, self.parallel = server, wasm, parallel
        # From this index on, every function gets these same bytes (one shared artifact).
        self.shared_from, self.shared = None, None
        self.local = threading.local()
        self.next = 0
        self.failures = []

    def _client(self):
        c = getattr(self.local, "client", None)
        if c is None:
            c = self.local.client = self.server.client(timeout=300)
        return c

    def _one(self, i):
        fid = f"d{i:05d}"
        if self.shared_from is not None and i >= self.shared_from:
            code = self.shared
        else:
            code = unique_component(self.wasm, fid)
        try:
            deploy(self._client(), fid, RUNTIMES["rust"], code)
            return None
        except Exception as error:  # noqa: BLE001 - reported, the probe stops on it
            return f"{fid}: {error}"

    def deployed(self):
        return self.next - len(self.failures)

    def deploy_to(self, count, stop_on_failure=True):
        """Deploys until `count` functions exist; returns (seconds, first failure or None)."""
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(self.parallel) as pool:
            while self.next < count:
                batch = range(self.next, min(count, self.next + self.parallel * 8))
                for failure in pool.map(self._one, batch):
                    if failure:
                        self.failures.append(failure)
                self.next = batch.stop
                if self.failures and stop_on_failure:
                    break
                if not self.server.alive():
                    self.failures.append(f"the server exited ({self.server.proc.returncode})")
                    break
        return time.monotonic() - t0, (self.failures[0] if self.failures else None)


def run_wrk_rotating(port, count, seconds, connections, threads, sampler):
    script = (
        "local n = 0\n"
        "request = function()\n"
        f"  n = n + 1\n  return wrk.format('GET', string.format('/fn/d%05d/', n % {count}))\n"
        "end\n"
    )
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"wafer-bench-rotate-{os.getpid()}.lua")
    with open(path, "w") as f:
        f.write(script)
    proc = subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", path,
         f"http://127.0.0.1:{port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    peak = {}
    while proc.poll() is None:
        time.sleep(0.5)
        try:
            s = sampler()
        except OSError:
            break
        for k, v in s.items():
            peak[k] = max(peak.get(k, 0), v)
    output = proc.communicate()[0]
    os.unlink(path)
    rps = next((float(l.split()[1]) for l in output.splitlines() if l.startswith("Requests/sec:")), 0.0)
    non2xx = next((int(l.split()[-1]) for l in output.splitlines() if "Non-2xx" in l), 0)
    return rps, non2xx, peak, output


def section_density(args, out):
    comps = read_components(args)
    wasm = comps["rust"]
    server = Server(args, "density")
    server.start()
    client = server.client()
    # Let the server settle after start (pool reservation, SQLite open).
    time.sleep(1)
    rows = []
    results = {"rows": rows}

    def row(label, seconds=None, note=""):
        s = server.stats()
        s["disk_kib"] = du_kib(server.data_dir)
        s["label"] = label
        rows.append(s)
        log(f"density: {label}: RSS {mib(s['VmRSS'])} MiB, HWM {mib(s['VmHWM'])} MiB, "
            f"VmSize {gib(s['VmSize'])} GiB, fds {s['fds']}, maps {s['maps']}, "
            f"disk {mib(s['disk_kib'])} MiB" + (f", {seconds:.1f} s" if seconds else ""))
        s["seconds"] = seconds
        s["note"] = note
        return s

    row("started, nothing deployed")
    deployer = Deployer(server, wasm, args.parallel)
    seconds, failure = deployer.deploy_to(args.functions)
    if failure:
        results["failure"] = failure
    row(f"{deployer.deployed()} deployed", seconds, f"{deployer.next / seconds:.0f} deploys/s")
    if not failure:
        rps, non2xx, peak, output = run_wrk_rotating(
            args.port, args.active, args.active_seconds, args.connections, args.threads, server.stats)
        results["active_rps"] = rps
        s = row(f"{args.active} active ({args.active_seconds} s of wrk, rotating)", None,
                f"{rps:.0f} requests/s, {non2xx} non-2xx")
        s["VmRSS_peak"] = peak.get("VmRSS", 0)
        time.sleep(1)
        row(f"{args.active} were active, now idle")
    probe = {}
    if not failure and args.capacity > args.functions:
        log(f"density: capacity probe, deploying up to {args.capacity} (stops at the first failure)")
        step = args.capacity_step
        if args.capacity_bytes == "shared":
            deployer.shared_from = deployer.next
            deployer.shared = unique_component(wasm, f"shared-{uuid.uuid4()}")
        target = args.functions
        while target < args.capacity and not failure:
            target = min(args.capacity, target + step)
            before = deployer.next
            seconds, failure = deployer.deploy_to(target)
            if server.alive():
                row(f"{deployer.deployed()} deployed", seconds,
                    f"{(deployer.next - before) / seconds:.0f} deploys/s")
        probe["reached"] = deployer.deployed()
        if failure:
            probe["failure"] = failure
            probe["log_tail"] = server.first_errors(30)
        elif server.alive():
            # Old functions were evicted from the in-memory cache: they must load from disk.
            sample = sorted({int(i * (deployer.next - 1) / 49) for i in range(50)})
            bad = []
            t0 = time.perf_counter()
            for i in sample:
                status, body = client.get_fn(f"d{i:05d}")
                if status != 200 or body != HELLO:
                    bad.append(f"d{i:05d}: HTTP {status} {body[:200]!r}")
            probe["spot_check"] = f"{len(sample) - len(bad)}/{len(sample)} answered"
            probe["spot_check_ms"] = (time.perf_counter() - t0) * 1000 / len(sample)
            if bad:
                failure = probe["failure"] = "; ".join(bad[:5])
                probe["log_tail"] = server.first_errors(30)
            row(f"after a request to {len(sample)} functions spread over all {deployer.next}")
    results["probe"] = probe
    alive = server.alive()
    server.stop()
    limits = {
        "fd_soft_limit": _fd_limit(),
        "max_map_count": int(open("/proc/sys/vm/max_map_count").read()),
        "mem_total_kib": _meminfo("MemTotal"),
    }
    results["limits"] = limits

    lines = [
        "| state | VmRSS (MiB) | of it anonymous (MiB) | of it file-backed (MiB) | VmHWM (MiB) "
        "| VmSize (GiB) | open fds | mappings | threads | data dir on disk (MiB) | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in rows:
        lines.append(
            f"| {s['label']} | {mib(s['VmRSS'])}"
            + (f" (peak {mib(s['VmRSS_peak'])})" if s.get("VmRSS_peak") else "")
            + f" | {mib(s.get('RssAnon', 0))} | {mib(s.get('RssFile', 0))}"
            + f" | {mib(s['VmHWM'])} | {gib(s['VmSize'])} | {s['fds']} | {s['maps']} | "
            f"{s['Threads']} | {mib(s['disk_kib'])} | "
            + " ".join(x for x in [s["note"], f"{s['seconds']:.0f} s" if s["seconds"] else ""] if x)
            + " |"
        )
    lines.append("")
    lines.append(
        f"Functions `d00000`, `d00001`, … each get their own deployment of the Rust hello with "
        f"distinct bytes (a unique custom section, so each is compiled and stored on its own), "
        f"deployed {args.parallel} at a time through the REST API (create the function, upload, "
        f"wait for `ready`). \"Active\" is wrk (`-t{args.threads} -c{args.connections}`) "
        f"requesting `/fn/dNNNNN/` for the first {args.active} functions in rotation; the RSS peak "
        f"is sampled every 0.5 s during it. Process figures come from `/proc/<pid>/status`, "
        f"`/proc/<pid>/fd` and `/proc/<pid>/maps` of `wafer serve`. File-backed RSS is compiled "
        f"code mapped from the artifacts on disk: page cache the kernel reclaims under memory "
        f"pressure, not memory the server holds. A deployment nobody calls for "
        f"`--deployment-idle-secs` (10 minutes) leaves memory altogether; this run is shorter."
    )
    lines.append("")
    if failure:
        last = rows[-1]
        lines.append(f"**The run stopped at a failure:** `{failure}`")
        lines.append("")
        lines.append(
            f"At the last measurement: open fds {last['fds']} (soft limit "
            f"{limits['fd_soft_limit']}), memory mappings {last['maps']} (`vm.max_map_count` "
            f"{limits['max_map_count']}), RSS {mib(last['VmRSS'])} MiB.")
        lines.append("")
        lines.append("The server log's first warnings and errors:")
        lines.append("")
        lines.append("```")
        lines.append(server.first_errors())
        lines.append("```")
    elif probe:
        last = rows[-1]
        lines.append(
            f"Capacity probe: {probe['reached']} functions deployed on one node without a failure "
            f"(the probe stops at {args.capacity}; "
            + (f"functions {args.functions} and up share one deployment's bytes, so they add "
               "metadata, uploads and one compiled artifact but no compiles; "
               if args.capacity_bytes == "shared" else "every function has distinct bytes; ")
            + f"{probe.get('spot_check', '')}, "
            f"{probe.get('spot_check_ms', 0):.1f} ms per request including loads from disk). "
            f"Headroom at the end: open fds {last['fds']} of a soft limit of {limits['fd_soft_limit']}, "
            f"memory mappings {last['maps']} of `vm.max_map_count` {limits['max_map_count']}, "
            f"RSS {mib(last['VmRSS'])} MiB of {gib(limits['mem_total_kib'])} GiB, "
            f"VmSize {gib(last['VmSize'])} GiB of 128 TiB of user address space."
        )
    if not alive:
        lines.append("")
        lines.append("**The server was not running at the end of the section.**")
    out.write("\n".join(lines) + "\n")
    return results


def _fd_limit():
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _meminfo(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


# ---------------------------------------------------------------------------------------------



# ---------------------------------------------------------------------------------------------
# BENCHMARKS.md: fixed text around one marked block per section; a run replaces the blocks of
# the sections it ran and keeps the others.


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "splice":
        splice(sys.argv[2], sys.argv[3])
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sections", help="comma-separated: deploy, cold, density (in that order)")
    p.add_argument("--wafer", required=True, help="the wafer binary")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--workdir", required=True, help="data directories and server logs go here")
    p.add_argument("--rust", required=True, help="Rust hello component")
    p.add_argument("--js", help="JavaScript hello component")
    p.add_argument("--python", help="Python hello component")
    p.add_argument("--outdir", required=True,
                   help="writes SECTION.md (a markdown fragment) and SECTION.json here")
    p.add_argument("--restarts", type=int, default=5)
    p.add_argument("--warm-requests", type=int, default=5)
    p.add_argument("--deploy-samples-rust", type=int, default=5)
    p.add_argument("--deploy-samples-js", type=int, default=2)
    p.add_argument("--deploy-samples-python", type=int, default=0)
    p.add_argument("--poll-interval", type=float, default=0.005)
    p.add_argument("--functions", type=int, default=1000)
    p.add_argument("--active", type=int, default=100)
    p.add_argument("--active-seconds", type=int, default=10)
    p.add_argument("--capacity", type=int, default=10000)
    p.add_argument("--capacity-step", type=int, default=1000)
    p.add_argument("--capacity-bytes", choices=["distinct", "shared"], default="shared",
                   help="capacity probe beyond --functions: distinct bytes per function (a "
                   "compile each, ~0.1-0.3 s of CPU) or one shared deployment's bytes")
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    args.wafer = os.path.abspath(args.wafer)
    # Stopped from outside (run.sh's trap): still stop the servers this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sections = [x.strip() for x in args.sections.split(",") if x.strip()]
    unknown = set(sections) - {"deploy", "cold", "density"}
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if "cold" in sections or "deploy" in sections:
        for lang in ("js", "python"):
            if not getattr(args, lang):
                log(f"no --{lang} component: {LABELS[lang]} is left out")
    os.makedirs(args.workdir, exist_ok=True)
    os.makedirs(args.outdir, exist_ok=True)
    status = 0

    def write(name, results):
        with open(os.path.join(args.outdir, f"{name}.json"), "w") as f:
            json.dump(results, f, indent=2, default=str)

    prepared = None
    try:
        if "deploy" in sections:
            with open(os.path.join(args.outdir, "deploy.md"), "w") as out:
                results = section_deploy(args, out, keep="cold" in sections)
            if "cold" in sections:
                results, prepared = results
            write("deploy", results)
        if "cold" in sections:
            with open(os.path.join(args.outdir, "cold.md"), "w") as out:
                write("cold", section_cold(args, out, prepared))
        if "density" in sections:
            with open(os.path.join(args.outdir, "density.md"), "w") as out:
                results = section_density(args, out)
            write("density", results)
            failure = results.get("failure") or results["probe"].get("failure")
            if failure:
                log("density: FAILURE: " + failure)
                status = 2
    finally:
        for server in SERVERS:
            server.stop()
    return status

if __name__ == "__main__":
    sys.exit(main())
