// Synchronous Invoke with @aws-sdk/client-lambda: the Go echo test function
// (an unmodified aws-lambda-go program; the Go harness builds its zip and
// passes the path in LAMBADA_ECHO_ZIP), called the ways a JS caller does.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  DeleteFunctionCommand,
  InvokeCommand,
  LambdaClient,
  LambdaServiceException,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";

import { client, createEcho, rejects, uniqueName, waitActive } from "./helpers.js";

const enc = (v) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const dec = (p) => new TextDecoder().decode(p);

function assertTail(logResult, requestId) {
  assert.ok(logResult, "LogResult missing");
  const log = Buffer.from(logResult, "base64").toString("utf8");
  assert.match(log, /START RequestId: [0-9a-f-]+ Version: \$LATEST/);
  assert.match(log, /END RequestId: /);
  assert.match(log, /REPORT RequestId: [^\t]+\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\t/);
  if (requestId) assert.ok(log.includes(`START RequestId: ${requestId} `), log);
  return log;
}

describe("invoke", () => {
  const lambda = client();
  const name = uniqueName("js-echo");
  let functionArn;

  before(async () => {
    functionArn = (await createEcho(lambda, name)).FunctionArn;
  });

  after(async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    lambda.destroy();
  });

  it("Payload in, Payload out, with the log tail", async () => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: enc({ op: "echo", n: 1, s: "héllo" }), LogType: "Tail" }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.equal(out.ExecutedVersion, "$LATEST");
    assert.deepEqual(JSON.parse(dec(out.Payload)), { op: "echo", n: 1, s: "héllo" });
    const log = assertTail(out.LogResult, out.$metadata.requestId);
    assert.match(log, /END RequestId: /);
  });

  it("context: request id, ARN and ClientContext reach the function", async () => {
    const cc = Buffer.from(JSON.stringify({ custom: { tenant: "t-42" }, env: { k: "v" } })).toString("base64");
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: enc({ op: "context" }), ClientContext: cc }),
    );
    const got = JSON.parse(dec(out.Payload));
    assert.equal(got.requestId, out.$metadata.requestId);
    assert.equal(got.invokedArn, functionArn);
    assert.equal(got.clientContext.custom.tenant, "t-42");
    assert.equal(got.clientContext.env.k, "v");
  });

  it("function error → FunctionError Unhandled with the error document", async () => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: enc({ op: "error", msg: "boom m1" }), LogType: "Tail" }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, "Unhandled");
    assert.deepEqual(JSON.parse(dec(out.Payload)), { errorMessage: "boom m1", errorType: "customErr" });
    assertTail(out.LogResult);
  });

  it("DryRun → 204, nothing returned", async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: "DryRun" }));
    assert.equal(out.StatusCode, 204);
    assert.ok(out.Payload == null || out.Payload.length === 0, `Payload ${out.Payload}`);
    assert.equal(out.FunctionError, undefined);
  });

  it("unknown function → ResourceNotFoundException 404", async () => {
    const missing = uniqueName("js-missing");
    const e = await rejects(() => lambda.send(new InvokeCommand({ FunctionName: missing, Payload: enc({}) })));
    assert.ok(e instanceof ResourceNotFoundException, `${e?.stack ?? e}`);
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.$metadata.httpStatusCode, 404);
    assert.equal(e.message, `Function not found: ${functionArn.replace(/[^:]+$/, missing)}:$LATEST`);
  });

  it("payload not JSON → InvalidRequestContentException 400", async () => {
    const e = await rejects(() => lambda.send(new InvokeCommand({ FunctionName: name, Payload: enc("{nope") })));
    assert.ok(e instanceof LambdaServiceException);
    assert.equal(e.name, "InvalidRequestContentException");
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, /^Could not parse request body into json: Could not parse payload into json: /);
  });
});

// The seed example, as written: a default-configured client
// (endpoint and credentials from the environment) invoking "my-function"
// with RequestResponse, Tail and a JSON payload.
describe("seed example", () => {
  const admin = client();

  before(async () => {
    await admin.send(new DeleteFunctionCommand({ FunctionName: "my-function" })).catch(() => {});
    await createEcho(admin, "my-function").catch(async (e) => {
      // async.test.js's Event seed example creates the same echo function
      // when it finds none; if it did so just now, use that one.
      if (e.name !== "ResourceConflictException") throw e;
      await waitActive(admin, "my-function");
    });
  });

  after(async () => {
    await admin.send(new DeleteFunctionCommand({ FunctionName: "my-function" })).catch(() => {});
    admin.destroy();
  });

  it("RequestResponse + Tail with a JSON payload", async () => {
    const client = new LambdaClient({ region: "us-east-1" });
    // Synchronous invocation
    const command = new InvokeCommand({
      FunctionName: "my-function",
      InvocationType: "RequestResponse",
      LogType: "Tail",
      Payload: JSON.stringify({
        key1: "value1",
        key2: "value2",
      }),
    });
    const response = await client.send(command);
    // Parse the response
    const result = JSON.parse(new TextDecoder().decode(response.Payload));
    console.log("Function result:", result);
    // Check for errors
    if (response.FunctionError) {
      console.error("Function error:", response.FunctionError);
    }
    // View logs if requested
    let logs = "";
    if (response.LogResult) {
      logs = Buffer.from(response.LogResult, "base64").toString();
      console.log("Execution logs:", logs);
    }
    client.destroy();

    assert.equal(response.StatusCode, 200);
    assert.equal(response.FunctionError, undefined);
    assert.deepEqual(result, { key1: "value1", key2: "value2" });
    assertTail(response.LogResult, response.$metadata.requestId);
    assert.ok(logs.includes("REPORT RequestId: "));
  });
});
