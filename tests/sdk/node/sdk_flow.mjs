// Drives a wafer server with the official Appwrite Node.js SDK (npm `node-appwrite`, pinned in
// package.json): the whole Functions flow a real user goes through, including a chunked upload
// (a component padded past the SDK's 5 MiB chunk size). Run by
// tests/tests/all/official_sdks.rs; install the SDK first with scripts/install-sdk-clients.sh.
//
// Environment:
//   WAFER_ENDPOINT     the API endpoint, e.g. http://127.0.0.1:PORT/v1
//   WAFER_PROJECT      the project id ("default")
//   WAFER_KEY          an API key of that project
//   WAFER_WASM         path to the built `hello` guest component
//   WAFER_FUNCTION_ID  the function id to create (unique per run)
//
// Prints one line per step and exits non-zero on the first mismatch.

import {
    AppwriteException,
    Client,
    ExecutionMethod,
    Functions,
    ID,
    Query,
} from 'node-appwrite';
import { InputFile } from 'node-appwrite/file';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POLL_INTERVAL_MS = 100;
const POLL_DEADLINE_MS = 120_000;
/** Larger than two of the SDK's 5 MiB chunks, so the upload takes three requests. */
const CHUNKED_PADDING_BYTES = 12 * 1024 * 1024 + 12_345;

class Mismatch extends Error {}

function env(name) {
    const value = process.env[name];
    if (!value) {
        throw new Mismatch(`environment variable ${name} is not set`);
    }
    return value;
}

function check(condition, message, actual) {
    if (!condition) {
        const shown = actual === undefined ? '' : `\n  got: ${JSON.stringify(actual, null, 2)}`;
        throw new Mismatch(`${message}${shown}`);
    }
}

function checkEqual(actual, expected, what) {
    check(
        actual === expected,
        `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

let stepNumber = 0;
let currentStep = 'setup';
async function step(name, body) {
    stepNumber += 1;
    currentStep = `${stepNumber} (${name})`;
    const started = Date.now();
    const result = await body();
    console.log(`[node] ok ${String(stepNumber).padStart(2)} ${name} (${Date.now() - started} ms)`);
    return result;
}

/** Polls `read` until `done(value)` holds, failing on `failed(value)` or after the deadline. */
async function pollUntil(what, read, done, failed) {
    const deadline = Date.now() + POLL_DEADLINE_MS;
    let last;
    while (Date.now() < deadline) {
        last = await read();
        if (failed(last)) {
            throw new Mismatch(`${what} failed:\n${JSON.stringify(last, null, 2)}`);
        }
        if (done(last)) {
            return last;
        }
        await sleep(POLL_INTERVAL_MS);
    }
    throw new Mismatch(
        `${what} did not finish within ${POLL_DEADLINE_MS / 1000} s; last:\n${JSON.stringify(last, null, 2)}`,
    );
}

function leb128(value) {
    const bytes = [];
    do {
        let byte = value & 0x7f;
        value = Math.floor(value / 128);
        if (value > 0) {
            byte |= 0x80;
        }
        bytes.push(byte);
    } while (value > 0);
    return Buffer.from(bytes);
}

/**
 * The component at `path` with a custom section of `padding` zero bytes appended: still a valid
 * component, and big enough that the SDK uploads it in chunks.
 */
function paddedComponent(path, padding) {
    const name = Buffer.from('wafer-padding');
    const body = Buffer.concat([leb128(name.length), name, Buffer.alloc(padding)]);
    return Buffer.concat([readFileSync(path), Buffer.from([0]), leb128(body.length), body]);
}

/** Runs `call`, which must throw an AppwriteException with `code` and `type`. */
async function expectAppwriteError(what, call, code, type) {
    let error;
    try {
        const value = await call();
        throw new Mismatch(`${what}: expected AppwriteException ${code} ${type}, got a result:\n${JSON.stringify(value)}`);
    } catch (caught) {
        if (caught instanceof Mismatch) {
            throw caught;
        }
        error = caught;
    }
    check(
        error instanceof AppwriteException,
        `${what}: expected an AppwriteException, got ${error?.constructor?.name}: ${error}`,
    );
    checkEqual(error.code, code, `${what}: AppwriteException.code`);
    checkEqual(error.type, type, `${what}: AppwriteException.type`);
    return error;
}

async function main() {
    const endpoint = env('WAFER_ENDPOINT');
    const project = env('WAFER_PROJECT');
    const key = env('WAFER_KEY');
    const wasm = env('WAFER_WASM');
    const functionId = env('WAFER_FUNCTION_ID');

    const client = new Client().setEndpoint(endpoint).setProject(project).setKey(key);
    const functions = new Functions(client);
    console.log(`[node] node-appwrite against ${endpoint}, project ${project}, function ${functionId}`);

    await step('create function', async () => {
        const fn = await functions.create({
            functionId,
            name: `SDK flow ${functionId}`,
            runtime: 'rust-wasi-0.2',
            execute: ['any'],
        });
        checkEqual(fn.$id, functionId, 'function $id');
        checkEqual(fn.runtime, 'rust-wasi-0.2', 'function runtime');
        check(
            Array.isArray(fn.execute) && fn.execute.length === 1 && fn.execute[0] === 'any',
            'function execute must be ["any"]',
            fn.execute,
        );
        checkEqual(fn.enabled, true, 'function enabled');
        checkEqual(fn.deploymentId, '', 'deploymentId of a new function');
    });

    const deploymentId = await step('create deployment (upload hello.wasm, activate)', async () => {
        const deployment = await functions.createDeployment({
            functionId,
            code: InputFile.fromPath(wasm, 'hello.wasm'),
            activate: true,
        });
        check(typeof deployment.$id === 'string' && deployment.$id !== '', 'deployment $id', deployment);
        checkEqual(deployment.resourceId, functionId, 'deployment resourceId');
        check(
            ['waiting', 'processing', 'building', 'ready'].includes(deployment.status),
            `a new deployment's status must be waiting, processing, building or ready`,
            deployment.status,
        );
        return deployment.$id;
    });

    await step('wait for the deployment to be ready', async () => {
        const deployment = await pollUntil(
            `deployment ${deploymentId}`,
            () => functions.getDeployment({ functionId, deploymentId }),
            (d) => d.status === 'ready',
            (d) => {
                if (d.status === 'failed' || d.status === 'canceled') {
                    console.log(`[node] build logs of ${deploymentId}:\n${d.buildLogs}`);
                    return true;
                }
                return false;
            },
        );
        checkEqual(deployment.$id, deploymentId, 'deployment $id');
        check(deployment.sourceSize > 0, 'deployment sourceSize must be > 0', deployment.sourceSize);
    });

    await step('wait for the function to be live on the deployment', async () => {
        const fn = await pollUntil(
            `activation of ${deploymentId}`,
            () => functions.get({ functionId }),
            (f) => f.deploymentId === deploymentId,
            () => false,
        );
        checkEqual(fn.live, true, 'function live');
    });

    const syncId = await step('create execution (sync GET)', async () => {
        const execution = await functions.createExecution({
            functionId,
            async: false,
            xpath: '/',
            method: ExecutionMethod.GET,
        });
        checkEqual(execution.status, 'completed', 'sync execution status');
        checkEqual(execution.responseStatusCode, 200, 'sync execution responseStatusCode');
        checkEqual(execution.responseBody, 'Hello, World!', 'sync execution responseBody');
        check(execution.logs.includes('Hello, Logs!'), 'sync execution logs must contain "Hello, Logs!"', execution.logs);
        check(
            execution.errors.includes('Hello, Errors!'),
            'sync execution errors must contain "Hello, Errors!"',
            execution.errors,
        );
        checkEqual(execution.functionId, functionId, 'sync execution functionId');
        checkEqual(execution.deploymentId, deploymentId, 'sync execution deploymentId');
        checkEqual(execution.trigger, 'http', 'sync execution trigger');
        checkEqual(execution.requestMethod, 'GET', 'sync execution requestMethod');
        check(typeof execution.duration === 'number', 'execution duration must be a number', execution.duration);
        return execution.$id;
    });

    const asyncId = await step('create execution (async POST)', async () => {
        const execution = await functions.createExecution({
            functionId,
            body: '{"from":"node"}',
            async: true,
            method: ExecutionMethod.POST,
            headers: { 'content-type': 'application/json' },
        });
        checkEqual(execution.status, 'waiting', 'async execution status');
        checkEqual(execution.functionId, functionId, 'async execution functionId');
        check(execution.$id !== syncId, 'async execution must have its own id', execution.$id);
        return execution.$id;
    });

    await step('wait for the async execution to complete', async () => {
        const execution = await pollUntil(
            `execution ${asyncId}`,
            () => functions.getExecution({ functionId, executionId: asyncId }),
            (e) => e.status === 'completed',
            (e) => e.status === 'failed',
        );
        checkEqual(execution.responseStatusCode, 200, 'async execution responseStatusCode');
        checkEqual(execution.requestMethod, 'POST', 'async execution requestMethod');
        check(execution.logs.includes('Hello, Logs!'), 'async execution logs must contain "Hello, Logs!"', execution.logs);
    });

    await step('list executions with queries', async () => {
        const list = await functions.listExecutions({
            functionId,
            queries: [
                Query.equal('status', 'completed'),
                Query.limit(1),
                Query.orderDesc('$createdAt'),
            ],
        });
        check(list.total >= 2, `listExecutions total must be >= 2`, list.total);
        checkEqual(list.executions.length, 1, 'listExecutions page size with Query.limit(1)');
        checkEqual(list.executions[0].status, 'completed', 'listed execution status');
        checkEqual(list.executions[0].$id, asyncId, 'newest completed execution (orderDesc $createdAt)');
    });

    await step('get execution', async () => {
        const execution = await functions.getExecution({ functionId, executionId: syncId });
        checkEqual(execution.$id, syncId, 'execution $id');
        checkEqual(execution.status, 'completed', 'execution status');
        checkEqual(execution.requestMethod, 'GET', 'execution requestMethod');
        checkEqual(execution.responseStatusCode, 200, 'execution responseStatusCode');
        check(execution.logs.includes('Hello, Logs!'), 'execution logs must contain "Hello, Logs!"', execution.logs);
    });

    // Variable ids are unique across a project, as in Appwrite: let the SDK make one.
    const variableId = ID.unique();
    await step('create variable', async () => {
        const variable = await functions.createVariable({
            functionId,
            variableId,
            key: 'GREETING',
            value: 'hello',
            secret: false,
        });
        checkEqual(variable.$id, variableId, 'variable $id');
        checkEqual(variable.key, 'GREETING', 'variable key');
        checkEqual(variable.value, 'hello', 'variable value');
        checkEqual(variable.secret, false, 'variable secret');
        checkEqual(variable.resourceId, functionId, 'variable resourceId');
    });

    await step('list variables', async () => {
        const list = await functions.listVariables({ functionId });
        checkEqual(list.total, 1, 'listVariables total');
        checkEqual(list.variables.length, 1, 'listVariables length');
        checkEqual(list.variables[0].key, 'GREETING', 'listed variable key');
    });

    await step('update variable', async () => {
        const variable = await functions.updateVariable({
            functionId,
            variableId,
            key: 'GREETING',
            value: 'bonjour',
        });
        checkEqual(variable.value, 'bonjour', 'updated variable value');
    });

    await step('get variable', async () => {
        const variable = await functions.getVariable({ functionId, variableId });
        checkEqual(variable.$id, variableId, 'variable $id');
        checkEqual(variable.key, 'GREETING', 'variable key');
        checkEqual(variable.value, 'bonjour', 'variable value after update');
    });

    await step('delete variable', async () => {
        await functions.deleteVariable({ functionId, variableId });
        await expectAppwriteError(
            'getVariable after delete',
            () => functions.getVariable({ functionId, variableId }),
            404,
            'variable_not_found',
        );
        const list = await functions.listVariables({ functionId });
        checkEqual(list.total, 0, 'listVariables total after delete');
    });

    await step('create deployment (chunked upload of a 12 MiB component)', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'wafer-sdk-node-'));
        try {
            const path = join(dir, 'hello-padded.wasm');
            const bytes = paddedComponent(wasm, CHUNKED_PADDING_BYTES);
            writeFileSync(path, bytes);
            const created = await functions.createDeployment({
                functionId,
                code: InputFile.fromPath(path, 'hello-padded.wasm'),
                activate: false,
            });
            const deployment = await pollUntil(
                `deployment ${created.$id}`,
                () => functions.getDeployment({ functionId, deploymentId: created.$id }),
                (d) => d.status === 'ready',
                (d) => d.status === 'failed' || d.status === 'canceled',
            );
            checkEqual(deployment.sourceSize, bytes.length, 'sourceSize of the chunked upload');
            checkEqual(deployment.activate, false, 'activate of the chunked upload');
            const fn = await functions.get({ functionId });
            checkEqual(fn.deploymentId, deploymentId, 'active deployment after a non-activating upload');
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    await step('list deployments with queries', async () => {
        const list = await functions.listDeployments({
            functionId,
            queries: [Query.equal('status', 'ready'), Query.orderAsc('$createdAt')],
        });
        checkEqual(list.total, 2, 'listDeployments total');
        checkEqual(list.deployments[0].$id, deploymentId, 'oldest deployment (orderAsc $createdAt)');
    });

    await step('typed error for a missing function', async () => {
        const error = await expectAppwriteError(
            "get('does-not-exist')",
            () => functions.get({ functionId: 'does-not-exist' }),
            404,
            'function_not_found',
        );
        console.log(`[node]    AppwriteException ${error.code} ${error.type}: ${error.message}`);
    });

    await step('delete function', async () => {
        await functions.delete({ functionId });
        await expectAppwriteError(
            'get after delete',
            () => functions.get({ functionId }),
            404,
            'function_not_found',
        );
    });

    currentStep = 'done';
    console.log('[node] all steps passed');
}

main().catch((error) => {
    if (error instanceof Mismatch) {
        console.error(`[node] FAILED at step ${currentStep}: ${error.message}`);
    } else if (error instanceof AppwriteException) {
        console.error(
            `[node] FAILED at step ${currentStep}: AppwriteException code=${error.code} type=${error.type}: ${error.message}\n  response: ${error.response}`,
        );
    } else {
        console.error(`[node] FAILED at step ${currentStep}: ${error?.stack ?? error}`);
    }
    process.exit(1);
});
