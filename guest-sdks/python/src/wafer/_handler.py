"""Implements the component's ``wafer:function/handler`` export around the user's ``main``.

Only importable inside a component built by ``build.py`` (componentize-py provides the
``wit_world`` bindings).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import context as host
from wit_world.imports.wafer_function_types import Request as WitRequest
from wit_world.imports.wafer_function_types import Response as WitResponse

from .context import Request, format_exception, invoke

_main: Optional[Callable[..., Any]] = None


def register(module: Any, entrypoint: str = "main") -> None:
    """Makes ``module.<entrypoint>`` the function this component runs."""
    global _main
    main = getattr(module, entrypoint, None)
    if not callable(main):
        raise TypeError(
            f"module {module.__name__!r} has no function {entrypoint!r}: "
            "a wafer function defines `def main(context): return context.res.text('Hello')`"
        )
    _main = main


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a broken stream must not hide the response
            pass


class Handler(exports.Handler):
    def handle(self, req: WitRequest) -> WitResponse:
        try:
            if _main is None:
                raise RuntimeError("no function registered: build the component with build.py")
            request = Request(req.method, req.scheme, req.host, req.port, req.path,
                              req.query_string, req.headers, req.body)
            response = invoke(_main, request, host.log, host.error)
        except BaseException as exc:  # noqa: BLE001 - SystemExit too is a failed execution
            _flush()
            raise Err(format_exception(exc)) from None
        _flush()
        return WitResponse(status_code=response.status_code, headers=list(response.headers),
                           body=response.body)
