// Asynchronous invocation with @aws-sdk/client-lambda: Event invokes and the
// legacy InvokeAsync are accepted with 202 after the event is stored, and the
// function then runs with the same request id. The echo function reports
// every event to RECORD_URL, a sink this test runs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import { after, before, describe, it } from "node:test";

import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeAsyncCommand,
  InvokeCommand,
  LambdaClient,
} from "@aws-sdk/client-lambda";

import { ROLE, client, rejects, uniqueName } from "./helpers.js";

const zipPath = process.env.LAMBADA_ECHO_ZIP;
if (!zipPath) {
  throw new Error("LAMBADA_ECHO_ZIP is not set: run this suite through `go test ./conformance/`");
}
const echoZip = readFileSync(zipPath);
const enc = (v) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));

// sink collects what the function reports, keyed by request id.
function startSink() {
  const seen = new Map();
  const waiters = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const hit = JSON.parse(body);
      seen.set(hit.requestId, hit);
      waiters.splice(0).forEach((w) => w());
      res.end("ok");
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}/`,
        close: () => server.close(),
        async waitFor(id, ms = 20000) {
          const deadline = Date.now() + ms;
          while (!seen.has(id)) {
            if (Date.now() > deadline) throw new Error(`event ${id} never ran`);
            await new Promise((r) => {
              waiters.push(r);
              setTimeout(r, 200);
            });
          }
          return seen.get(id);
        },
      }),
    ),
  );
}

describe("async", () => {
  const lambda = client();
  const name = uniqueName("js-async");
  let sink;

  before(async () => {
    sink = await startSink();
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Role: ROLE,
        Runtime: "provided.al2023",
        Handler: "bootstrap",
        Code: { ZipFile: echoZip },
        Environment: { Variables: { RECORD_URL: sink.url } },
      }),
    );
    for (let i = 0; i < 100; i++) {
      const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
      if (c.State === "Active") break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    sink.close();
    lambda.destroy();
  });

  it("Event: 202, empty body, runs with the same request id", async () => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, InvocationType: "Event", Payload: enc({ op: "echo", n: 1 }) }),
    );
    assert.equal(out.StatusCode, 202);
    assert.ok(!out.Payload || out.Payload.length === 0);
    const id = out.$metadata.requestId;
    assert.match(id, /^[0-9a-f-]{36}$/);
    const hit = await sink.waitFor(id);
    assert.deepEqual(hit.event, { op: "echo", n: 1 });
  });

  it("InvokeAsync: Status 202 and the event runs", async () => {
    const out = await lambda.send(new InvokeAsyncCommand({ FunctionName: name, InvokeArgs: enc({ op: "echo", legacy: true }) }));
    assert.equal(out.Status, 202);
    const hit = await sink.waitFor(out.$metadata.requestId);
    assert.deepEqual(hit.event, { op: "echo", legacy: true });
  });

  it("an Event payload over 1 MB is refused with 413", async () => {
    const big = enc(JSON.stringify("x".repeat(1048576)));
    const e = await rejects(() =>
      lambda.send(new InvokeCommand({ FunctionName: name, InvocationType: "Event", Payload: big })),
    );
    assert.equal(e.name, "RequestEntityTooLargeException");
    assert.equal(e.$metadata.httpStatusCode, 413);
    assert.equal(e.message, `${big.length} byte payload is too large for the Event invocation type (limit 1048576 bytes)`);
  });

  it("Event to a missing function is 404", async () => {
    const e = await rejects(() =>
      lambda.send(new InvokeCommand({ FunctionName: `${name}-none`, InvocationType: "Event", Payload: enc({}) })),
    );
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.$metadata.httpStatusCode, 404);
  });
});

// The seed's Event example, as written: a default-configured
// client (endpoint and credentials from the environment) sending an Event to
// "my-function". The seed names the function, so this uses that name;
// invoke.test.js's seed example uses it too and may run at the same time,
// deleting and recreating it, so this creates it only when missing, never
// deletes it, and runs the example again if it found the function gone.
describe("seed example: Event", () => {
  const admin = client();

  async function ensureMyFunction() {
    const get = () => admin.send(new GetFunctionConfigurationCommand({ FunctionName: "my-function" }));
    let c = await get().catch((e) => {
      if (e.name !== "ResourceNotFoundException") throw e;
      return null;
    });
    if (!c) {
      await admin
        .send(
          new CreateFunctionCommand({
            FunctionName: "my-function",
            Role: ROLE,
            Runtime: "provided.al2023",
            Handler: "bootstrap",
            Code: { ZipFile: echoZip },
          }),
        )
        .catch((e) => {
          if (e.name !== "ResourceConflictException") throw e; // created meanwhile
        });
    }
    for (let i = 0; i < 100; i++) {
      c = await get().catch(() => null);
      if (c?.State === "Active") return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("my-function never became Active");
  }

  after(() => admin.destroy());

  it("Event with a JSON payload → StatusCode 202", async () => {
    let asyncResponse;
    for (let attempt = 1; ; attempt++) {
      await ensureMyFunction();
      const client = new LambdaClient({ region: "us-east-1" });
      try {
        // Asynchronous invocation
        const asyncCommand = new InvokeCommand({
          FunctionName: "my-function",
          InvocationType: "Event",
          Payload: JSON.stringify({ message: "Process this later" }),
        });
        asyncResponse = await client.send(asyncCommand);
        // Response will have StatusCode 202 for accepted
        break;
      } catch (e) {
        // Deleted or being recreated by invoke.test.js between our check and the call.
        const raced = e.name === "ResourceNotFoundException" || e.name === "ResourceConflictException";
        if (!raced || attempt >= 5) throw e;
      } finally {
        client.destroy();
      }
    }
    assert.equal(asyncResponse.StatusCode, 202);
    assert.ok(!asyncResponse.Payload || asyncResponse.Payload.length === 0);
    assert.match(asyncResponse.$metadata.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(asyncResponse.FunctionError, undefined);
  });
});
