"""Unit tests of the SDK's pure part, on the host:
``python3 -m unittest discover -s guest-sdks/python/tests``."""

import json
import sys
import unittest
from pathlib import Path

# No __pycache__ in src/: build.py bundles that directory into components.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wafer.context import (  # noqa: E402
    Context,
    Request,
    Response,
    build_url,
    format_exception,
    format_message,
    invoke,
    parse_query,
)


def request(**overrides):
    fields = dict(
        method="POST",
        scheme="https",
        host="example.com",
        port=443,
        path="/items",
        query_string="a=1&b=two+words&a=3&c=%2F",
        headers=[("content-type", "application/json"), ("X-Multi", "one"), ("x-multi", "two")],
        body=b'{"hello":"world"}',
    )
    fields.update(overrides)
    return Request(**fields)


class Recorder:
    def __init__(self):
        self.logs = []
        self.errors = []

    def context(self, req=None):
        return Context(req or request(), self.logs.append, self.errors.append)


class RequestTest(unittest.TestCase):
    def test_url(self):
        self.assertEqual(build_url("https", "example.com", 443, "/a", ""), "https://example.com/a")
        self.assertEqual(build_url("http", "example.com", 8080, "/a", "x=1"),
                         "http://example.com:8080/a?x=1")
        self.assertEqual(build_url("http", "::1", 80, "a", ""), "http://[::1]/a")

    def test_query(self):
        self.assertEqual(parse_query("a=1&b=two+words&a=3&c=%2F&flag"),
                         {"a": "1", "b": "two words", "c": "/", "flag": ""})

    def test_fields(self):
        req = request()
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.scheme, "https")
        self.assertEqual(req.host, "example.com")
        self.assertEqual(req.port, 443)
        self.assertEqual(req.path, "/items")
        self.assertEqual(req.query_string, "a=1&b=two+words&a=3&c=%2F")
        self.assertEqual(req.query, {"a": "1", "b": "two words", "c": "/"})
        self.assertEqual(req.url, "https://example.com/items?a=1&b=two+words&a=3&c=%2F")
        self.assertEqual(req.headers, {"content-type": "application/json", "x-multi": "one, two"})
        self.assertEqual(req.body_binary, b'{"hello":"world"}')
        self.assertEqual(req.body_text, '{"hello":"world"}')
        self.assertEqual(req.body_raw, '{"hello":"world"}')
        self.assertEqual(req.body_json, {"hello": "world"})
        self.assertEqual(req.body, {"hello": "world"})

    def test_body_is_text_unless_json(self):
        req = request(headers=[("content-type", "text/plain")], body=b"hi")
        self.assertEqual(req.body, "hi")
        with self.assertRaises(json.JSONDecodeError):
            req.body_json
        self.assertEqual(request(body=b"").body, "")
        self.assertEqual(request(body=b"\xff").body_text, "\ufffd")


class ResponseTest(unittest.TestCase):
    def setUp(self):
        self.res = Recorder().context().res

    def test_send_and_text(self):
        r = self.res.send("hi")
        self.assertEqual((r.status_code, r.headers, r.body),
                         (200, [("content-type", "text/plain; charset=utf-8")], b"hi"))
        r = self.res.text("made", 201, {"X-One": "1", "Set-Cookie": ["a=1", "b=2"]})
        self.assertEqual(r.status_code, 201)
        self.assertEqual(r.headers, [("content-type", "text/plain; charset=utf-8"), ("x-one", "1"),
                                     ("set-cookie", "a=1"), ("set-cookie", "b=2")])
        r = self.res.send("<h1>x</h1>", 200, {"Content-Type": "text/html"})
        self.assertEqual(r.headers, [("content-type", "text/html")])
        self.assertEqual(self.res.text("x", statusCode=202).status_code, 202)

    def test_json(self):
        r = self.res.json({"ok": True, "name": "é"}, 418, {"x-a": "b"})
        self.assertEqual(r.status_code, 418)
        self.assertEqual(r.headers, [("content-type", "application/json"), ("x-a", "b")])
        self.assertEqual(json.loads(r.body), {"ok": True, "name": "é"})

    def test_binary_empty_redirect(self):
        r = self.res.binary(bytes([0, 255]))
        self.assertEqual((r.headers, r.body), ([("content-type", "application/octet-stream")],
                                               b"\x00\xff"))
        r = self.res.empty()
        self.assertEqual((r.status_code, r.body, r.headers), (204, b"", []))
        r = self.res.redirect("https://appwrite.io/")
        self.assertEqual((r.status_code, r.headers), (301, [("location", "https://appwrite.io/")]))
        self.assertEqual(self.res.redirect("/x", 302).status_code, 302)

    def test_invalid_status(self):
        with self.assertRaises(ValueError):
            self.res.text("x", 42)


class ContextTest(unittest.TestCase):
    def test_log_and_error(self):
        recorder = Recorder()
        ctx = recorder.context()
        ctx.log("plain", {"a": 1}, [1, 2], 3, None, True)
        ctx.error({"nested": {"ok": True}})
        self.assertEqual(recorder.logs, ['plain {"a": 1} [1, 2] 3 null true'])
        self.assertEqual(recorder.errors, ['{"nested": {"ok": true}}'])
        self.assertEqual(format_message(["failed:", ValueError("x")]), "failed: ValueError: x")

    def test_invoke(self):
        r = invoke(lambda ctx: ctx.res.json({"ok": True}, 201), request(), print, print)
        self.assertIsInstance(r, Response)
        self.assertEqual(r.status_code, 201)

    def test_async_main(self):
        async def helper():
            return 7

        async def main(ctx):
            return ctx.res.text(str(await helper()))

        self.assertEqual(invoke(main, request(), print, print).body, b"7")

    def test_missing_or_wrong_return(self):
        with self.assertRaisesRegex(ValueError, "Return statement missing"):
            invoke(lambda ctx: None, request(), print, print)
        with self.assertRaisesRegex(TypeError, "must return a response"):
            invoke(lambda ctx: 42, request(), print, print)

    def test_exception_text(self):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            text = format_exception(exc)
        self.assertTrue(text.startswith("Traceback (most recent call last):"))
        self.assertTrue(text.endswith("RuntimeError: boom"))


if __name__ == "__main__":
    unittest.main()
