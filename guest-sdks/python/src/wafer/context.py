"""The context a wafer function receives: ``context.req``, ``context.res``, ``context.log`` and
``context.error``, as in an Appwrite (open-runtimes v5) Python function.

Pure Python with no WIT imports, so it also runs (and is unit-tested) on the host;
``wafer._handler`` wires it to the component's imports and export.
"""

from __future__ import annotations

import json
import traceback
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import parse_qsl

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
BINARY = "application/octet-stream"

#: Ports a URL leaves out because they are the scheme's default.
DEFAULT_PORTS = {"http": 80, "https": 443}

HeaderPairs = Sequence[Tuple[str, str]]
Headers = Union[Mapping[str, Any], Iterable[Tuple[str, Any]], None]


def build_url(scheme: str, host: str, port: int, path: str, query_string: str) -> str:
    """Joins URL parts, leaving out the port when it is the scheme's default."""
    # An IPv6 address needs brackets to be told apart from the port.
    host_part = f"[{host}]" if ":" in host and not host.startswith("[") else host
    port_part = "" if DEFAULT_PORTS.get(scheme.lower()) == port else f":{port}"
    path_part = path if path.startswith("/") else f"/{path}"
    query_part = f"?{query_string}" if query_string else ""
    return f"{scheme}://{host_part}{port_part}{path_part}{query_part}"


def parse_query(query_string: str) -> dict:
    """``a=1&b=two+words`` as ``{"a": "1", "b": "two words"}``, percent-decoded. A repeated key
    keeps its first value."""
    query: dict = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(key, value)
    return query


def format_value(value: Any) -> str:
    """One ``log``/``error`` argument as text: strings as they are, exceptions with their
    traceback, everything else JSON-encoded when it can be (``str(value)`` otherwise)."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseException):
        return format_exception(value)
    if isinstance(value, (dict, list, tuple, bool, int, float)) or value is None:
        try:
            return json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def format_message(values: Sequence[Any]) -> str:
    """Joins ``log(...)`` arguments with spaces, as ``print`` does."""
    return " ".join(format_value(value) for value in values)


def _is_sdk_frame(filename: str) -> bool:
    return filename.replace("\\", "/").endswith(("wafer/_handler.py", "wafer/context.py"))


def format_exception(exc: BaseException) -> str:
    """The traceback of ``exc`` as Python prints it, without the SDK's frames that called the
    function."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and _is_sdk_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip("\n")


def to_bytes(body: Any) -> bytes:
    """Bytes from a body given as ``str``, ``bytes``, ``bytearray`` or ``memoryview``; anything
    else is converted with ``str(...)``."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return str(body).encode("utf-8")


def header_pairs(headers: Headers) -> list:
    """Header pairs from a mapping (``{"name": value}`` or ``{"name": [v1, v2]}``) or a list of
    pairs. Names become lower-case."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs = []
    for name, value in items:
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((str(name).lower(), str(item)) for item in values)
    return pairs


class Request:
    """The incoming request, as Appwrite functions see it."""

    def __init__(
        self,
        method: str,
        scheme: str,
        host: str,
        port: int,
        path: str,
        query_string: str,
        headers: HeaderPairs,
        body: bytes,
    ):
        self.method = method
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query_string = query_string
        self.query = parse_query(query_string)
        self.url = build_url(scheme, host, port, path, query_string)
        # Repeated headers are joined with ", ".
        joined: dict = {}
        for name, value in headers:
            name = name.lower()
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        self.headers = joined
        self._body = bytes(body)

    @property
    def body_binary(self) -> bytes:
        """The body as bytes."""
        return self._body

    @property
    def body_text(self) -> str:
        """The body as text (UTF-8; invalid sequences become U+FFFD)."""
        return self._body.decode("utf-8", errors="replace")

    @property
    def body_raw(self) -> str:
        """The body as text; the same as ``body_text``."""
        return self.body_text

    @property
    def body_json(self) -> Any:
        """The body parsed as JSON; raises ``json.JSONDecodeError`` when it is not valid JSON."""
        return json.loads(self.body_text)

    @property
    def body(self) -> Any:
        """``body_json`` when the content type is JSON and there is a body, ``body_text``
        otherwise."""
        content_type = self.headers.get("content-type", "").lower()
        if content_type.startswith(JSON) and self._body:
            return self.body_json
        return self.body_text

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class Response:
    """What a function returns; made by the ``context.res`` methods."""

    def __init__(self, body: bytes, status_code: int, headers: list):
        self.body = body
        self.status_code = status_code
        self.headers = headers

    def __repr__(self) -> str:
        return f"<Response {self.status_code}, {len(self.body)} bytes>"


def _respond(body: Any, status_code: Any, headers: Headers, defaults: list) -> Response:
    pairs = header_pairs(headers)
    given = {name for name, _ in pairs}
    all_headers = [pair for pair in defaults if pair[0] not in given] + pairs
    status = 200 if status_code is None else status_code
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999:
        raise ValueError(f"invalid status code {status_code!r}")
    return Response(to_bytes(body), status, all_headers)


def _status(status_code: Optional[int], camel: Optional[int], default: int) -> Optional[int]:
    """``status_code``, or the ``statusCode`` keyword other runtimes' examples use."""
    if camel is not None:
        return camel
    return default if status_code is None else status_code


class ResponseBuilder:
    """``context.res``: makes the kinds of response a function returns."""

    def send(self, body: Any, status_code: int = 200, headers: Headers = None, *,
             statusCode: Optional[int] = None) -> Response:  # noqa: N803
        """``body`` (text or bytes) as ``text/plain; charset=utf-8`` unless ``headers`` say
        otherwise."""
        return _respond(body, _status(status_code, statusCode, 200), headers,
                        [("content-type", TEXT)])

    def text(self, body: Any, status_code: int = 200, headers: Headers = None, *,
             statusCode: Optional[int] = None) -> Response:  # noqa: N803
        """``body`` as ``text/plain; charset=utf-8`` unless ``headers`` say otherwise."""
        text = "" if body is None else body if isinstance(body, str) else str(body)
        return self.send(text, _status(status_code, statusCode, 200), headers)

    def json(self, value: Any, status_code: int = 200, headers: Headers = None, *,
             statusCode: Optional[int] = None) -> Response:  # noqa: N803
        """``value`` JSON-encoded, as ``application/json``."""
        return _respond(json.dumps(value, ensure_ascii=False, separators=(",", ":")),
                        _status(status_code, statusCode, 200), headers, [("content-type", JSON)])

    def binary(self, body: Any, status_code: int = 200, headers: Headers = None, *,
               statusCode: Optional[int] = None) -> Response:  # noqa: N803
        """Bytes as ``application/octet-stream`` unless ``headers`` say otherwise."""
        return _respond(body, _status(status_code, statusCode, 200), headers,
                        [("content-type", BINARY)])

    def empty(self) -> Response:
        """204 with no body."""
        return _respond(b"", 204, None, [])

    def redirect(self, url: str, status_code: int = 301, headers: Headers = None, *,
                 statusCode: Optional[int] = None) -> Response:  # noqa: N803
        """A redirect (301 unless given) to ``url``, in the ``location`` header."""
        return _respond(b"", _status(status_code, statusCode, 301), headers,
                        [("location", str(url))])


class Context:
    """What ``main(context)`` receives."""

    def __init__(self, req: Request, log: Callable[[str], None], error: Callable[[str], None]):
        self.req = req
        self.res = ResponseBuilder()
        self._log = log
        self._error = error

    def log(self, *values: Any) -> None:
        """Appends a line to the execution's logs; dicts and lists are JSON-encoded."""
        self._log(format_message(values))

    def error(self, *values: Any) -> None:
        """Appends a line to the execution's errors; dicts and lists are JSON-encoded."""
        self._error(format_message(values))


def run_coroutine(coro: Any) -> Any:
    """Runs an ``async def main`` to completion. There is no event loop with I/O in a
    component: awaiting other coroutines works, awaiting an asyncio future (sleeps, sockets) does
    not; use the blocking ``wafer.fetch`` for outbound HTTP."""
    try:
        while True:
            yielded = coro.send(None)
            if yielded is not None:
                coro.close()
                raise RuntimeError(
                    "an async function awaited something that needs an event loop "
                    f"({yielded!r}); wafer runs coroutines without one: use wafer.fetch for HTTP"
                )
    except StopIteration as stop:
        return stop.value


def to_response(value: Any) -> Response:
    """Checks what the function returned."""
    if isinstance(value, Response):
        return value
    if value is None:
        raise ValueError(
            "Return statement missing. return context.res.empty() if no response is expected."
        )
    raise TypeError(
        "The function must return a response made by context.res.send, text, json, binary, "
        f"empty or redirect, not {value!r}"
    )


def invoke(main: Callable[[Context], Any], req: Request,
           log: Callable[[str], None], error: Callable[[str], None]) -> Response:
    """Runs ``main`` for one request; exceptions propagate to the caller."""
    result = main(Context(req, log, error))
    if hasattr(result, "send") and hasattr(result, "throw") and hasattr(result, "close"):
        result = run_coroutine(result)
    return to_response(result)
