"""The Python SDK for wafer functions.

A function is a module with ``def main(context)``::

    def main(context):
        context.log("Hello, Logs!")
        if context.req.method == "GET":
            return context.res.text("Hello, World!")
        return context.res.json({"ok": True})

``build.py`` turns it into a WebAssembly component. ``wafer.fetch`` makes outbound HTTP requests.
"""

from .context import Context, Request, Response, ResponseBuilder
from .http import FetchError, FetchResponse, fetch

__all__ = [
    "Context",
    "FetchError",
    "FetchResponse",
    "Request",
    "Response",
    "ResponseBuilder",
    "fetch",
]
