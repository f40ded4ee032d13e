"""Logs the request and answers with every field of ``context.req`` as JSON, so you (and the
tests) can see what a function receives."""

import json


def main(context):
    req = context.req
    # Dicts are JSON-encoded in the logs; print() is captured too.
    context.log({"method": req.method, "path": req.path})
    print(f"{req.method} {req.url}")

    try:
        body_json = req.body_json
    except json.JSONDecodeError:
        # Not JSON: `body_json` raises, `body` falls back to the text.
        body_json = None

    return context.res.json(
        {
            "method": req.method,
            "scheme": req.scheme,
            "host": req.host,
            "port": req.port,
            "path": req.path,
            "queryString": req.query_string,
            "query": req.query,
            "url": req.url,
            "headers": req.headers,
            "body": req.body,
            "bodyText": req.body_text,
            "bodyRaw": req.body_raw,
            "bodyJson": body_json,
            # Bytes do not fit in JSON: answer with their count and the first few.
            "bodyBinaryLength": len(req.body_binary),
            "bodyBinaryHead": list(req.body_binary[:8]),
        }
    )
