"""The Appwrite starter function: "Hello, World!" for GET, a JSON motto for anything else, and one
line each in the logs and the errors."""


def main(context):
    context.log("Hello, Logs!")
    context.error("Hello, Errors!")

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
