"""Answers with the kind of response ``?type=`` names: ``text`` (the default), ``json``, ``html``,
``binary``, ``empty`` or ``redirect``. ``?status=NNN`` sets the status code (where the method
takes one)."""


def main(context):
    res = context.res
    query = context.req.query
    status = int(query["status"]) if query.get("status") else None
    kind = query.get("type", "text")

    if kind == "text":
        return res.text("Hello, text!", status or 200, {"x-response-type": "text"})
    if kind == "json":
        return res.json({"type": "json", "ok": True}, status or 200)
    if kind == "html":
        return res.send("<h1>Hello from wafer</h1>", status or 200,
                        {"content-type": "text/html; charset=utf-8"})
    if kind == "binary":
        return res.binary(bytes([0, 1, 2, 3, 255]), status or 200)
    if kind == "empty":
        return res.empty()
    if kind == "redirect":
        return res.redirect("https://appwrite.io/", status or 301)
    return res.json({"error": f"unknown type {kind}"}, 400)
