"""The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else.

``context.req`` is the request (method, path, query, headers, body_text, body_json, body, …) and
``context.res`` builds the response (text, json, binary, empty, redirect; status code and headers
as arguments). ``context.log(…)`` and ``context.error(…)`` write a line to the execution's logs and
errors; an exception fails the execution. Modules next to this file can be imported.
"""


def main(context):
    context.log("Hello, Logs!")

    if context.req.method == "GET":
        return context.res.text("Hello, World!")

    return context.res.json(
        {
            "motto": "Build like a team of hundreds_",
            "learn": "https://appwrite.io/docs",
            "connect": "https://appwrite.io/discord",
            "getInspired": "https://builtwith.appwrite.io",
        }
    )
