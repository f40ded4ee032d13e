"""Drives a wafer server with the official Appwrite Python SDK (PyPI `appwrite`, pinned in
requirements.txt): the whole Functions flow a real user goes through, including a chunked upload
(a component padded past the SDK's 5 MiB chunk size). Run by
tests/tests/all/official_sdks.rs; install the SDK first with scripts/install-sdk-clients.sh.

Environment:
  WAFER_ENDPOINT     the API endpoint, e.g. http://127.0.0.1:PORT/v1
  WAFER_PROJECT      the project id ("default")
  WAFER_KEY          an API key of that project
  WAFER_WASM         path to the built `hello` guest component
  WAFER_FUNCTION_ID  the function id to create (unique per run)

Prints one line per step and exits non-zero on the first mismatch.
"""

import json
import os
import sys
import tempfile
import time
import traceback

from appwrite.client import Client
from appwrite.enums.execution_method import ExecutionMethod
from appwrite.exception import AppwriteException
from appwrite.id import ID
from appwrite.input_file import InputFile
from appwrite.query import Query
from appwrite.services.functions import Functions

POLL_INTERVAL_S = 0.1
POLL_DEADLINE_S = 120.0
# Larger than two of the SDK's 5 MiB chunks, so the upload takes three requests.
CHUNKED_PADDING_BYTES = 12 * 1024 * 1024 + 12_345


class Mismatch(Exception):
    pass


def env(name):
    value = os.environ.get(name)
    if not value:
        raise Mismatch(f"environment variable {name} is not set")
    return value


def shown(value):
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    try:
        return json.dumps(value, indent=2, default=str)
    except (TypeError, ValueError):
        return repr(value)


def check(condition, message, actual=None):
    if not condition:
        suffix = "" if actual is None else f"\n  got: {shown(actual)}"
        raise Mismatch(f"{message}{suffix}")


def check_equal(actual, expected, what):
    check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")


def enum_value(value):
    """The string behind an SDK enum member (the models parse `status`, `trigger` into enums)."""
    return value.value if hasattr(value, "value") else value


step_number = 0
current_step = "setup"


def step(name, body):
    global step_number, current_step
    step_number += 1
    current_step = f"{step_number} ({name})"
    started = time.monotonic()
    result = body()
    print(f"[python] ok {step_number:2} {name} ({(time.monotonic() - started) * 1000:.0f} ms)", flush=True)
    return result


def poll_until(what, read, done, failed):
    deadline = time.monotonic() + POLL_DEADLINE_S
    last = None
    while time.monotonic() < deadline:
        last = read()
        if failed(last):
            raise Mismatch(f"{what} failed:\n{shown(last)}")
        if done(last):
            return last
        time.sleep(POLL_INTERVAL_S)
    raise Mismatch(f"{what} did not finish within {POLL_DEADLINE_S:.0f} s; last:\n{shown(last)}")


def leb128(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def padded_component(path, padding):
    """The component at `path` with a custom section of `padding` zero bytes appended: still a
    valid component, and big enough that the SDK uploads it in chunks."""
    name = b"wafer-padding"
    body = leb128(len(name)) + name + bytes(padding)
    with open(path, "rb") as component:
        return component.read() + b"\x00" + leb128(len(body)) + body


def expect_appwrite_error(what, call, code, error_type):
    try:
        value = call()
    except AppwriteException as error:
        check_equal(error.code, code, f"{what}: AppwriteException.code")
        check_equal(error.type, error_type, f"{what}: AppwriteException.type")
        return error
    except Exception as error:  # noqa: BLE001 - any other exception is the mismatch
        raise Mismatch(
            f"{what}: expected an AppwriteException, got {type(error).__name__}: {error}"
        ) from error
    raise Mismatch(f"{what}: expected AppwriteException {code} {error_type}, got a result:\n{shown(value)}")


def main():
    endpoint = env("WAFER_ENDPOINT")
    project = env("WAFER_PROJECT")
    key = env("WAFER_KEY")
    wasm = env("WAFER_WASM")
    function_id = env("WAFER_FUNCTION_ID")

    client = Client().set_endpoint(endpoint).set_project(project).set_key(key)
    functions = Functions(client)
    print(f"[python] appwrite against {endpoint}, project {project}, function {function_id}", flush=True)

    def create_function():
        fn = functions.create(
            function_id=function_id,
            name=f"SDK flow {function_id}",
            runtime="rust-wasi-0.2",
            execute=["any"],
        )
        check_equal(fn.id, function_id, "function $id")
        check_equal(fn.runtime, "rust-wasi-0.2", "function runtime")
        check(fn.execute == ["any"], 'function execute must be ["any"]', fn.execute)
        check_equal(fn.enabled, True, "function enabled")
        check_equal(fn.deploymentid, "", "deploymentId of a new function")

    step("create function", create_function)

    def create_deployment():
        deployment = functions.create_deployment(
            function_id=function_id,
            code=InputFile.from_path(wasm),
            activate=True,
        )
        check(bool(deployment.id), "deployment $id", deployment)
        check_equal(deployment.resourceid, function_id, "deployment resourceId")
        check(
            enum_value(deployment.status) in ("waiting", "processing", "building", "ready"),
            "a new deployment's status must be waiting, processing, building or ready",
            enum_value(deployment.status),
        )
        return deployment.id

    deployment_id = step("create deployment (upload hello.wasm, activate)", create_deployment)

    def wait_ready():
        def failed(d):
            if enum_value(d.status) in ("failed", "canceled"):
                print(f"[python] build logs of {deployment_id}:\n{d.buildlogs}", flush=True)
                return True
            return False

        deployment = poll_until(
            f"deployment {deployment_id}",
            lambda: functions.get_deployment(function_id=function_id, deployment_id=deployment_id),
            lambda d: enum_value(d.status) == "ready",
            failed,
        )
        check_equal(deployment.id, deployment_id, "deployment $id")
        check(deployment.sourcesize > 0, "deployment sourceSize must be > 0", deployment.sourcesize)

    step("wait for the deployment to be ready", wait_ready)

    def wait_live():
        fn = poll_until(
            f"activation of {deployment_id}",
            lambda: functions.get(function_id=function_id),
            lambda f: f.deploymentid == deployment_id,
            lambda f: False,
        )
        check_equal(fn.live, True, "function live")

    step("wait for the function to be live on the deployment", wait_live)

    def sync_execution():
        execution = functions.create_execution(
            function_id=function_id,
            xasync=False,
            path="/",
            method=ExecutionMethod.GET,
        )
        check_equal(enum_value(execution.status), "completed", "sync execution status")
        check_equal(execution.responsestatuscode, 200, "sync execution responseStatusCode")
        check_equal(execution.responsebody, "Hello, World!", "sync execution responseBody")
        check("Hello, Logs!" in execution.logs, 'sync execution logs must contain "Hello, Logs!"', execution.logs)
        check(
            "Hello, Errors!" in execution.errors,
            'sync execution errors must contain "Hello, Errors!"',
            execution.errors,
        )
        check_equal(execution.resourceid, function_id, "sync execution resourceId")
        check_equal(execution.deploymentid, deployment_id, "sync execution deploymentId")
        check_equal(enum_value(execution.trigger), "http", "sync execution trigger")
        check_equal(execution.requestmethod, "GET", "sync execution requestMethod")
        return execution.id

    sync_id = step("create execution (sync GET)", sync_execution)

    def async_execution():
        execution = functions.create_execution(
            function_id=function_id,
            body='{"from":"python"}',
            xasync=True,
            method=ExecutionMethod.POST,
            headers={"content-type": "application/json"},
        )
        check_equal(enum_value(execution.status), "waiting", "async execution status")
        check_equal(execution.resourceid, function_id, "async execution resourceId")
        check(execution.id != sync_id, "async execution must have its own id", execution.id)
        return execution.id

    async_id = step("create execution (async POST)", async_execution)

    def wait_async():
        execution = poll_until(
            f"execution {async_id}",
            lambda: functions.get_execution(function_id=function_id, execution_id=async_id),
            lambda e: enum_value(e.status) == "completed",
            lambda e: enum_value(e.status) == "failed",
        )
        check_equal(execution.responsestatuscode, 200, "async execution responseStatusCode")
        check_equal(execution.requestmethod, "POST", "async execution requestMethod")
        check("Hello, Logs!" in execution.logs, 'async execution logs must contain "Hello, Logs!"', execution.logs)

    step("wait for the async execution to complete", wait_async)

    def list_executions():
        page = functions.list_executions(
            function_id=function_id,
            queries=[
                Query.equal("status", "completed"),
                Query.limit(1),
                Query.order_desc("$createdAt"),
            ],
        )
        check(page.total >= 2, "listExecutions total must be >= 2", page.total)
        check_equal(len(page.executions), 1, "listExecutions page size with Query.limit(1)")
        check_equal(enum_value(page.executions[0].status), "completed", "listed execution status")
        check_equal(page.executions[0].id, async_id, "newest completed execution (orderDesc $createdAt)")

    step("list executions with queries", list_executions)

    def get_execution():
        execution = functions.get_execution(function_id=function_id, execution_id=sync_id)
        check_equal(execution.id, sync_id, "execution $id")
        check_equal(enum_value(execution.status), "completed", "execution status")
        check_equal(execution.requestmethod, "GET", "execution requestMethod")
        check_equal(execution.responsestatuscode, 200, "execution responseStatusCode")
        check("Hello, Logs!" in execution.logs, 'execution logs must contain "Hello, Logs!"', execution.logs)

    step("get execution", get_execution)

    # Variable ids are unique across a project, as in Appwrite: let the SDK make one.
    variable_id = ID.unique()

    def create_variable():
        variable = functions.create_variable(
            function_id=function_id,
            variable_id=variable_id,
            key="GREETING",
            value="hello",
            secret=False,
        )
        check_equal(variable.id, variable_id, "variable $id")
        check_equal(variable.key, "GREETING", "variable key")
        check_equal(variable.value, "hello", "variable value")
        check_equal(variable.secret, False, "variable secret")
        check_equal(variable.resourceid, function_id, "variable resourceId")

    step("create variable", create_variable)

    def list_variables():
        page = functions.list_variables(function_id=function_id)
        check_equal(page.total, 1, "listVariables total")
        check_equal(len(page.variables), 1, "listVariables length")
        check_equal(page.variables[0].key, "GREETING", "listed variable key")

    step("list variables", list_variables)

    def update_variable():
        variable = functions.update_variable(
            function_id=function_id,
            variable_id=variable_id,
            key="GREETING",
            value="bonjour",
        )
        check_equal(variable.value, "bonjour", "updated variable value")

    step("update variable", update_variable)

    def get_variable():
        variable = functions.get_variable(function_id=function_id, variable_id=variable_id)
        check_equal(variable.id, variable_id, "variable $id")
        check_equal(variable.key, "GREETING", "variable key")
        check_equal(variable.value, "bonjour", "variable value after update")

    step("get variable", get_variable)

    def delete_variable():
        functions.delete_variable(function_id=function_id, variable_id=variable_id)
        expect_appwrite_error(
            "get_variable after delete",
            lambda: functions.get_variable(function_id=function_id, variable_id=variable_id),
            404,
            "variable_not_found",
        )
        page = functions.list_variables(function_id=function_id)
        check_equal(page.total, 0, "listVariables total after delete")

    step("delete variable", delete_variable)

    def chunked_deployment():
        with tempfile.TemporaryDirectory(prefix="wafer-sdk-python-") as directory:
            path = os.path.join(directory, "hello-padded.wasm")
            data = padded_component(wasm, CHUNKED_PADDING_BYTES)
            with open(path, "wb") as padded:
                padded.write(data)
            created = functions.create_deployment(
                function_id=function_id,
                code=InputFile.from_path(path),
                activate=False,
            )
            deployment = poll_until(
                f"deployment {created.id}",
                lambda: functions.get_deployment(function_id=function_id, deployment_id=created.id),
                lambda d: enum_value(d.status) == "ready",
                lambda d: enum_value(d.status) in ("failed", "canceled"),
            )
            check_equal(deployment.sourcesize, len(data), "sourceSize of the chunked upload")
            check_equal(deployment.activate, False, "activate of the chunked upload")
            fn = functions.get(function_id=function_id)
            check_equal(fn.deploymentid, deployment_id, "active deployment after a non-activating upload")

    step("create deployment (chunked upload of a 12 MiB component)", chunked_deployment)

    def list_deployments():
        page = functions.list_deployments(
            function_id=function_id,
            queries=[Query.equal("status", "ready"), Query.order_asc("$createdAt")],
        )
        check_equal(page.total, 2, "listDeployments total")
        check_equal(page.deployments[0].id, deployment_id, "oldest deployment (orderAsc $createdAt)")

    step("list deployments with queries", list_deployments)

    def typed_error():
        error = expect_appwrite_error(
            "get('does-not-exist')",
            lambda: functions.get(function_id="does-not-exist"),
            404,
            "function_not_found",
        )
        print(f"[python]    AppwriteException {error.code} {error.type}: {error.message}", flush=True)

    step("typed error for a missing function", typed_error)

    def delete_function():
        functions.delete(function_id=function_id)
        expect_appwrite_error(
            "get after delete",
            lambda: functions.get(function_id=function_id),
            404,
            "function_not_found",
        )

    step("delete function", delete_function)

    print("[python] all steps passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except Mismatch as mismatch:
        print(f"[python] FAILED at step {current_step}: {mismatch}", file=sys.stderr)
        sys.exit(1)
    except AppwriteException as error:
        print(
            f"[python] FAILED at step {current_step}: AppwriteException code={error.code} "
            f"type={error.type}: {error.message}\n  response: {error.response}",
            file=sys.stderr,
        )
        sys.exit(1)
    except Exception:  # noqa: BLE001
        print(f"[python] FAILED at step {current_step}:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
