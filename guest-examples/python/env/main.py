"""Reads the function's environment: ``?name=VAR`` answers with that variable's value (404 when it
is not set); without ``?name``, with the names of all variables."""

import os


def main(context):
    name = context.req.query.get("name")
    if not name:
        return context.res.json({"names": sorted(os.environ)})
    if name not in os.environ:
        return context.res.json({"name": name, "error": "not set"}, 404)
    return context.res.json({"name": name, "value": os.environ[name]})
