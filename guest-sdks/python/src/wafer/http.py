"""Outbound HTTP for wafer functions, over ``wasi:http/outgoing-handler``.

A component has no sockets, so ``urllib``, ``http.client`` and ``requests`` cannot connect; use
``wafer.fetch``. The platform only lets requests through to hosts in the function's outbound
allow-list: any other request fails with a ``FetchError``.
"""

from __future__ import annotations

import json as _json
import re
from typing import Any, Mapping, Optional
from urllib.parse import urlsplit

from .context import Headers, header_pairs, to_bytes

try:
    # Imported at the top level: componentize-py snapshots the modules imported while it builds
    # the component, and only those are there when the function runs.
    from componentize_py_types import Err, Ok
    from wit_world.imports import outgoing_handler, streams
    from wit_world.imports import wasi_http_types as wasi_http
except ImportError:  # outside a component (unit tests, editors): `fetch` cannot work there
    outgoing_handler = None

#: How much to ask a body stream for at a time.
READ_CHUNK = 64 * 1024
#: The most a `wasi:io` output stream takes in one blocking write.
WRITE_CHUNK = 4096


class FetchError(Exception):
    """An outbound request that failed: refused by the platform, unreachable, or malformed."""


class FetchResponse:
    """An upstream's answer, read completely."""

    def __init__(self, url: str, status: int, headers: dict, body: bytes):
        self.url = url
        self.status = status
        #: Header names are lower-case; repeated headers are joined with ", ".
        self.headers = headers
        self.body = body

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.body)

    def __repr__(self) -> str:
        return f"<FetchResponse {self.status} from {self.url}>"


def _error_text(code: Any) -> str:
    """`ErrorCode_HttpRequestDenied()` as `HTTP request denied`, with its payload if any."""
    name = type(code).__name__
    name = name[len("ErrorCode_"):] if name.startswith("ErrorCode_") else name
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()
    words = re.sub(r"\b(http|dns|tls|uri)\b", lambda m: m.group(1).upper(), words)
    if name == "HttpRequestDenied":
        words += " (the host is not in the function's outbound allow-list)"
    value = getattr(code, "value", None)
    return f"{words}: {value!r}" if value is not None else words


def _method(bindings: Any, method: str) -> Any:
    known = {
        "GET": "Method_Get", "HEAD": "Method_Head", "POST": "Method_Post", "PUT": "Method_Put",
        "DELETE": "Method_Delete", "CONNECT": "Method_Connect", "OPTIONS": "Method_Options",
        "TRACE": "Method_Trace", "PATCH": "Method_Patch",
    }
    upper = method.upper()
    if upper in known:
        return getattr(bindings, known[upper])()
    return bindings.Method_Other(method)


def fetch(url: str, method: str = "GET", headers: Headers = None, body: Any = None,
          timeout: Optional[float] = None) -> FetchResponse:
    """Sends one HTTP request and reads the whole response.

    ``body`` may be text, bytes, or a dict/list (sent as JSON). ``timeout`` is in seconds and
    applies to connecting and to each wait for data. Raises ``FetchError`` when the request
    cannot be made or is refused; an HTTP error status is not an exception.
    """
    if outgoing_handler is None:
        raise FetchError("wafer.fetch works only inside a component")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported URL {url!r}: only http and https are supported")
    if not parts.netloc:
        raise FetchError(f"URL {url!r} has no host")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"

    pairs = header_pairs(headers)
    if isinstance(body, (dict, list)):
        body = _json.dumps(body)
        if not any(name == "content-type" for name, _ in pairs):
            pairs.append(("content-type", "application/json"))
    payload = to_bytes(body) if body is not None else b""

    try:
        fields = wasi_http.Fields.from_list([(name, value.encode("utf-8")) for name, value in pairs])
    except Err as err:
        raise FetchError(f"invalid request headers: {err.value!r}") from None
    request = wasi_http.OutgoingRequest(fields)
    try:
        request.set_method(_method(wasi_http, method))
        request.set_scheme(wasi_http.Scheme_Https() if scheme == "https" else wasi_http.Scheme_Http())
        request.set_authority(parts.netloc)
        request.set_path_with_query(path)
    except Err:
        raise FetchError(f"invalid request {method} {url!r}") from None

    options = None
    if timeout is not None:
        nanos = int(timeout * 1_000_000_000)
        options = wasi_http.RequestOptions()
        options.set_connect_timeout(nanos)
        options.set_first_byte_timeout(nanos)
        options.set_between_bytes_timeout(nanos)

    outgoing_body = request.body()
    try:
        future = outgoing_handler.handle(request, options)
    except Err as err:
        raise FetchError(f"request to {url} failed: {_error_text(err.value)}") from None

    _write_body(outgoing_body, payload)

    with future:
        with future.subscribe() as pollable:
            pollable.block()
        result = future.get()
    if result is None:
        raise FetchError(f"request to {url} failed: no response")
    if isinstance(result, Err) or not isinstance(result, Ok):
        raise FetchError(f"request to {url} failed: the response was already taken")
    inner = result.value
    if isinstance(inner, Err) or not isinstance(inner, Ok):
        raise FetchError(f"request to {url} failed: {_error_text(inner.value)}")

    with inner.value as response:
        status = response.status()
        with response.headers() as fields:
            received: dict = {}
            for name, value in fields.entries():
                text = value.decode("utf-8", errors="replace")
                name = name.lower()
                received[name] = f"{received[name]}, {text}" if name in received else text
        data = _read_body(response)
    return FetchResponse(url, status, received, data)


def _write_body(outgoing_body: Any, payload: bytes) -> None:
    try:
        with outgoing_body.write() as stream:
            for start in range(0, len(payload), WRITE_CHUNK):
                stream.blocking_write_and_flush(payload[start:start + WRITE_CHUNK])
    except Err as err:
        raise FetchError(f"could not send the request body: {err.value!r}") from None
    wasi_http.OutgoingBody.finish(outgoing_body, None)


def _read_body(response: Any) -> bytes:
    incoming = response.consume()
    chunks = []
    with incoming.stream() as stream:
        while True:
            try:
                chunks.append(stream.blocking_read(READ_CHUNK))
            except Err as err:
                if isinstance(err.value, streams.StreamError_Closed):
                    break
                raise FetchError(f"reading the response failed: {err.value!r}") from None
    # The stream is a child of the body: it is gone now, so the body can be finished.
    with wasi_http.IncomingBody.finish(incoming):
        pass
    return b"".join(chunks)
