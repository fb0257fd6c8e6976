// Node.js and Python functions, written as for AWS Lambda, invoked with
// @aws-sdk/client-lambda: results, errors, tails and Node streaming.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  DeleteFunctionCommand,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
} from "@aws-sdk/client-lambda";

import { client, createFunction, storedZip, uniqueName } from "./helpers.js";

const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
const dec = (p) => new TextDecoder().decode(p);

const nodeHandler = `
let calls = 0;
export const handler = async (event, context) => {
  calls++;
  console.log("node got", JSON.stringify(event));
  if (event.fail) throw new TypeError("bad input: " + event.fail);
  return { event, calls, requestId: context.awsRequestId, fn: context.functionName };
};
export const streamer = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  for (let i = 0; i < 3; i++) {
    responseStream.write("part-" + i + ";");
    await new Promise((r) => setTimeout(r, 50));
  }
  responseStream.end();
});
`;

const pythonHandler = `
calls = 0

def lambda_handler(event, context):
    global calls
    calls += 1
    print("python got", event)
    if event.get("fail"):
        raise ValueError("bad input: " + event["fail"])
    return {"event": event, "calls": calls, "requestId": context.aws_request_id, "fn": context.function_name}
`;

const create = (lambda, name, runtime, handler, files) =>
  createFunction(lambda, { FunctionName: name, Runtime: runtime, Handler: handler, Code: { ZipFile: storedZip(files) } });

const tail = (out) => Buffer.from(out.LogResult, "base64").toString("utf8");

describe("Node.js and Python functions", () => {
  const lambda = client();
  const node = uniqueName("js-node");
  const nodeStream = uniqueName("js-node-stream");
  const python = uniqueName("js-python");

  before(async () => {
    await create(lambda, node, "nodejs20.x", "index.handler", { "index.mjs": nodeHandler });
    await create(lambda, nodeStream, "nodejs20.x", "index.streamer", { "index.mjs": nodeHandler });
    await create(lambda, python, "python3.12", "app.lambda_handler", { "app.py": pythonHandler });
  });

  after(async () => {
    for (const name of [node, nodeStream, python]) {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    }
    lambda.destroy();
  });

  for (const [label, name, line] of [
    ["Node.js", () => node, /\tINFO\tnode got {"n":1}/],
    ["Python", () => python, /python got {'n': 1}/],
  ]) {
    it(`${label}: result, context, warm state and tail`, async () => {
      const first = await lambda.send(
        new InvokeCommand({ FunctionName: name(), Payload: enc({ n: 1 }), LogType: "Tail" }),
      );
      assert.equal(first.StatusCode, 200);
      assert.equal(first.FunctionError, undefined);
      const got = JSON.parse(dec(first.Payload));
      assert.deepEqual(got.event, { n: 1 });
      assert.equal(got.requestId, first.$metadata.requestId);
      assert.equal(got.fn, name());
      assert.match(tail(first), line);
      assert.match(tail(first), /Init Duration: /);
      const second = await lambda.send(new InvokeCommand({ FunctionName: name(), Payload: enc({ n: 2 }), LogType: "Tail" }));
      assert.equal(JSON.parse(dec(second.Payload)).calls, got.calls + 1);
      assert.doesNotMatch(tail(second), /Init Duration: /);
    });
  }

  it("Node.js: a thrown error is the AWS error document", async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: node, Payload: enc({ fail: "x" }) }));
    assert.equal(out.FunctionError, "Unhandled");
    const doc = JSON.parse(dec(out.Payload));
    assert.equal(doc.errorType, "TypeError");
    assert.equal(doc.errorMessage, "bad input: x");
    assert.equal(doc.trace[0], "TypeError: bad input: x");
  });

  it("Python: a raised exception is the AWS error document", async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: python, Payload: enc({ fail: "y" }) }));
    assert.equal(out.FunctionError, "Unhandled");
    const doc = JSON.parse(dec(out.Payload));
    assert.equal(doc.errorType, "ValueError");
    assert.equal(doc.errorMessage, "bad input: y");
    assert.equal(doc.requestId, out.$metadata.requestId);
    assert.ok(Array.isArray(doc.stackTrace) && doc.stackTrace.some((l) => l.includes("app.py")), JSON.stringify(doc));
  });

  it("Node.js: streamifyResponse streams through InvokeWithResponseStream", async () => {
    const out = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: nodeStream, Payload: enc({}) }));
    assert.equal(out.ResponseStreamContentType, "text/plain");
    const chunks = [];
    let complete;
    for await (const ev of out.EventStream) {
      if (ev.PayloadChunk) chunks.push(dec(ev.PayloadChunk.Payload));
      if (ev.InvokeComplete) complete = ev.InvokeComplete;
    }
    assert.equal(chunks.join(""), "part-0;part-1;part-2;");
    assert.ok(chunks.length >= 2, JSON.stringify(chunks));
    assert.equal(complete.ErrorCode, undefined);
  });
});
