"""Fetches the URL in ``?url=`` and answers with the upstream's status and body:
``{"status": 200, "body": "..."}``. A request that fails (the host is not in the function's
outbound allow-list, or cannot be reached) is a 502 with ``{"error": "..."}``."""

import wafer


def main(context):
    url = context.req.query.get("url")
    if not url:
        return context.res.json({"error": "missing ?url="}, 400)
    try:
        upstream = wafer.fetch(url, timeout=10)
    except wafer.FetchError as err:
        context.error(str(err))
        return context.res.json({"error": str(err)}, 502)
    return context.res.json({"status": upstream.status, "body": upstream.text()})
