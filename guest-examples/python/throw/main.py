"""Fails on purpose: writes to stderr, then raises. The execution is ``failed`` (status 500) and
its errors hold the traceback."""

import sys


def main(context):
    print("about to raise", file=sys.stderr)
    raise RuntimeError(f"Something went wrong on {context.req.method} {context.req.path}")
