// InvokeWithResponseStream with @aws-sdk/client-lambda: the JS SDK reads
// lambada's event stream (PayloadChunk events, then InvokeComplete) from
// the Go echo function, streaming and not.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  DeleteFunctionCommand,
  InvokeWithResponseStreamCommand,
  LambdaClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";

import { assertError, client, createEcho, rejects, uniqueName } from "./helpers.js";

const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
const dec = (p) => new TextDecoder().decode(p);


// read collects a stream's chunks (with arrival times) and its one
// InvokeComplete.
async function read(out) {
  const chunks = [];
  const times = [];
  let complete;
  for await (const event of out.EventStream) {
    if (event.PayloadChunk) {
      assert.equal(complete, undefined, "PayloadChunk after InvokeComplete");
      chunks.push(dec(event.PayloadChunk.Payload));
      times.push(Date.now());
    } else if (event.InvokeComplete) {
      assert.equal(complete, undefined, "second InvokeComplete");
      complete = event.InvokeComplete;
    } else {
      assert.fail(`unexpected event ${JSON.stringify(event)}`);
    }
  }
  assert.ok(complete, "no InvokeComplete");
  return { chunks, times, complete };
}

describe("InvokeWithResponseStream", () => {
  const lambda = client();
  const name = uniqueName("js-stream");

  before(async () => {
    await createEcho(lambda, name);
  });

  after(async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    lambda.destroy();
  });

  it("the seed's streaming example runs unchanged", async () => {
    // The seed's names: "my-streaming-function", InvokeMode RESPONSE_STREAM (a
    // member this command does not have: the SDK leaves it out of the
    // request, as it does against AWS).
    const seedClient = new LambdaClient({ region: "us-east-1" });
    const admin = client();
    await createEcho(admin, "my-streaming-function");
    const written = [];
    const realWrite = process.stdout.write;
    process.stdout.write = (s, ...rest) => {
      written.push(String(s));
      return true;
    };
    const realLog = console.log;
    console.log = (...args) => written.push(args.join(" ") + "\n");
    try {
      const command = new InvokeWithResponseStreamCommand({
        FunctionName: "my-streaming-function",
        InvokeMode: "RESPONSE_STREAM",
        Payload: JSON.stringify({ prompt: "Generate a story" }),
      });
      const response = await seedClient.send(command);
      // Process streaming response
      if (response.EventStream) {
        for await (const event of response.EventStream) {
          if ("PayloadChunk" in event && event.PayloadChunk) {
            const chunk = new TextDecoder().decode(event.PayloadChunk.Payload);
            process.stdout.write(chunk);
          }
          if ("InvokeComplete" in event) {
            console.log("\nStreaming complete");
            break;
          }
        }
      }
    } finally {
      process.stdout.write = realWrite;
      console.log = realLog;
      seedClient.destroy();
      await admin.send(new DeleteFunctionCommand({ FunctionName: "my-streaming-function" })).catch(() => {});
      admin.destroy();
    }
    assert.equal(written.join(""), '{"prompt":"Generate a story"}\nStreaming complete\n');
  });

  it("chunks arrive one by one, in order, before the function ends", async () => {
    const out = await lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: enc({ op: "stream", n: 3, ms: 300 }) }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.ExecutedVersion, "$LATEST");
    assert.equal(out.ResponseStreamContentType, "application/octet-stream");
    const { chunks, times, complete } = await read(out);
    const end = Date.now();
    assert.equal(chunks.join(""), "chunk-0;chunk-1;chunk-2;");
    assert.ok(chunks.length >= 2, `chunks ${JSON.stringify(chunks)}`);
    assert.ok(end - times[0] >= 400, `first chunk only ${end - times[0]} ms before the end`);
    assert.deepEqual({ ...complete }, {});
  });

  it("a mid-stream error ends with InvokeComplete carrying it", async () => {
    const out = await lambda.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: name,
        Payload: enc({ op: "stream", n: 1, ms: 50, fail: true }),
      }),
    );
    assert.equal(out.StatusCode, 200);
    const { chunks, complete } = await read(out);
    assert.equal(chunks.join(""), "chunk-0;partial;");
    assert.equal(complete.ErrorCode, "errorString");
    assert.deepEqual(JSON.parse(complete.ErrorDetails), { errorMessage: "mid-stream failure", errorType: "errorString" });
  });

  it("LogType Tail puts the log in InvokeComplete", async () => {
    const out = await lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: name, LogType: "Tail", Payload: enc({ op: "stream", n: 2 }) }),
    );
    const { chunks, complete } = await read(out);
    assert.equal(chunks.join(""), "chunk-0;chunk-1;");
    const log = Buffer.from(complete.LogResult, "base64").toString("utf8");
    assert.match(log, /REPORT RequestId: /);
  });

  it("a plain handler's result arrives as chunks", async () => {
    const out = await lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: name, Payload: enc({ op: "echo", msg: "plain" }) }),
    );
    const { chunks, complete } = await read(out);
    assert.deepEqual(JSON.parse(chunks.join("")), { op: "echo", msg: "plain" });
    assert.equal(complete.ErrorCode, undefined);
  });

  it("DryRun → 204", async () => {
    const out = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, InvocationType: "DryRun" }));
    assert.equal(out.StatusCode, 204);
  });

  it("unknown function → ResourceNotFoundException", async () => {
    const e = await rejects(() =>
      lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: uniqueName("js-missing"), Payload: enc({}) })),
    );
    assert.ok(e instanceof ResourceNotFoundException, `${e?.stack ?? e}`);
    assert.equal(e.$metadata.httpStatusCode, 404);
  });

  it("InvocationType Event → ValidationException", async () => {
    const e = await rejects(() =>
      lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: name, InvocationType: "Event", Payload: enc({}) })),
    );
    assertError(e, "ValidationException", 400, /\[RequestResponse, DryRun\]/);
  });
});
