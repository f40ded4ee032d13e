"""wafer's REST API and server process as the bench drives them: a small HTTP client, multipart
uploads, unique component bytes, and `wafer serve` started on a fresh data directory. Standard
library only; used by wafer_bench.py.
"""

import http.client
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid

PROJECT = "default"
HELLO = b"Hello, World!"
CHUNK = 5 * 1024 * 1024
RUNTIMES = {"rust": "rust-wasi-0.2", "js": "javascript-wasi-0.2", "python": "python-wasi-0.2"}
LABELS = {"rust": "Rust", "js": "JavaScript", "python": "Python"}


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def leb128(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def unique_component(wasm, tag):
    """The component with a custom section `wafer-bench` holding `tag` appended at top level."""
    if wasm[:4] != b"\0asm":
        raise ValueError("not a WebAssembly binary")
    name = b"wafer-bench"
    content = leb128(len(name)) + name + tag.encode()
    return wasm + b"\x00" + leb128(len(content)) + content


# ---------------------------------------------------------------------------------------------
# HTTP


class Client:
    """One keep-alive connection to the server, reopened when the server closes it."""

    def __init__(self, port, key, timeout=120):
        self.port, self.key, self.timeout = port, key, timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, api=True):
        hdrs = dict(headers or {})
        if api:
            hdrs["X-Appwrite-Project"] = PROJECT
            hdrs["X-Appwrite-Key"] = self.key
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.close()
                return resp.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, doc=None, ok=(200, 201, 202)):
        body = None if doc is None else json.dumps(doc).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data = self.request(method, path, body, headers)
        if status not in ok:
            raise ApiFailure(f"{method} {path}: HTTP {status}: {data[:500].decode(errors='replace')}")
        return json.loads(data) if data else None

    def get_fn(self, function_id):
        return self.request("GET", f"/fn/{function_id}/", api=False)


class ApiFailure(Exception):
    pass


def multipart(fields, file_bytes, boundary):
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="code"; filename="code.wasm"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
    )
    parts.append(file_bytes)
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts)


def create_function(client, function_id, runtime):
    client.json(
        "POST",
        "/v1/functions",
        {"functionId": function_id, "name": function_id, "runtime": runtime, "execute": ["any"]},
    )


def upload(client, function_id, code):
    """POSTs the deployment (activate=true), in 5 MiB chunks when larger; returns its id."""
    boundary = "wafer-bench-" + uuid.uuid4().hex
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    total = len(code)
    deployment_id = None
    for start in range(0, total, CHUNK) if total > CHUNK else [0]:
        piece = code[start : start + CHUNK] if total > CHUNK else code
        hdrs = dict(headers)
        if total > CHUNK:
            hdrs["Content-Range"] = f"bytes {start}-{start + len(piece) - 1}/{total}"
        if deployment_id:
            hdrs["x-appwrite-id"] = deployment_id
        body = multipart({"activate": "true"}, piece, boundary)
        status, data = client.request("POST", f"/v1/functions/{function_id}/deployments", body, hdrs)
        if status != 202:
            raise ApiFailure(f"upload {function_id}: HTTP {status}: {data[:500].decode(errors='replace')}")
        deployment_id = deployment_id or json.loads(data)["$id"]
    return deployment_id


def wait_ready(client, function_id, deployment_id, deadline_s=900, interval=0.02):
    started = time.monotonic()
    while True:
        doc = client.json("GET", f"/v1/functions/{function_id}/deployments/{deployment_id}")
        status = doc.get("status")
        if status == "ready":
            return doc
        if status in ("failed", "canceled"):
            raise ApiFailure(
                f"deployment {deployment_id} of {function_id} {status}: {str(doc.get('buildLogs'))[-800:]}"
            )
        if time.monotonic() - started > deadline_s:
            raise ApiFailure(f"deployment {deployment_id} of {function_id} not ready after {deadline_s} s")
        time.sleep(interval)


def deploy(client, function_id, runtime, code):
    """Creates the function, uploads, waits for `ready` and for the route to answer hello."""
    create_function(client, function_id, runtime)
    deployment_id = upload(client, function_id, code)
    wait_ready(client, function_id, deployment_id)
    return deployment_id


# ---------------------------------------------------------------------------------------------
# The server


SERVERS = []


class Server:
    def __init__(self, args, name, data_dir=None):
        self.wafer, self.port = args.wafer, args.port
        self.key = "bench-" + secrets.token_hex(16)
        self.data_dir = data_dir or os.path.join(args.workdir, name)
        self.log_path = os.path.join(args.workdir, f"{name}.log")
        self.proc = None
        self.env_extra = {}
        SERVERS.append(self)

    def start(self, key=None):
        self.key = key or self.key
        env = dict(os.environ)
        env.update(
            WAFER_DATA_DIR=self.data_dir,
            WAFER_LISTEN=f"127.0.0.1:{self.port}",
            WAFER_ADMIN_KEY=self.key,
            WAFER_LOG=os.environ.get("WAFER_LOG", "warn"),
        )
        env.update(self.env_extra)
        logf = open(self.log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen([self.wafer, "serve"], env=env, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        client = Client(self.port, self.key, timeout=5)
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"wafer serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status, _ = client.request("GET", "/v1/functions?limit=1")
                if status == 200:
                    client.close()
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"wafer serve did not answer on port {self.port}:\n{self.log_tail()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout=120):
        return Client(self.port, self.key, timeout)

    def log_tail(self, lines=30):
        try:
            with open(self.log_path, "rb") as f:
                text = b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
            return re.sub(r"\x1b\[[0-9;]*m", "", text)
        except OSError:
            return "(no log)"

    def first_errors(self, lines=12):
        """The first WARN/ERROR lines of the server's log (the cause, before the consequences)."""
        try:
            with open(self.log_path, "rb") as f:
                text = re.sub(r"\x1b\[[0-9;]*m", "", f.read().decode(errors="replace"))
        except OSError:
            return "(no log)"
        hits = [l for l in text.splitlines() if " ERROR " in l or " WARN " in l]
        return "\n".join(hits[:lines]) or "(no WARN or ERROR line)"

    def stats(self):
        """VmRSS (with its anonymous and file-backed parts), VmHWM, VmSize (KiB), open fds,
        memory mappings and threads of the server."""
        pid = self.proc.pid
        out = {}
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "VmSize", "Threads"):
                    out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/maps", "rb") as f:
            out["maps"] = sum(1 for _ in f)
        return out


def median(values):
    return statistics.median(values) if values else float("nan")


def mib(kib):
    return f"{kib / 1024:.1f}"


def gib(kib):
    return f"{kib / 1048576:.1f}"


def du_kib(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total // 1024
