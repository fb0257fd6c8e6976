// Function URLs with @aws-sdk/client-lambda for the control plane and
// plain fetch for the data plane: a buffered URL on the Go echo function,
// and a RESPONSE_STREAM URL on a Node.js function that answers with
// awslambda.HttpResponseStream (the seed's streaming example runs against
// the same function through InvokeWithResponseStream).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  GetPolicyCommand,
  InvokeWithResponseStreamCommand,
  LambdaClient,
  ListFunctionUrlConfigsCommand,
  UpdateFunctionUrlConfigCommand,
} from "@aws-sdk/client-lambda";

import { assertError, client, createEcho, createFunction, rejects, storedZip, uniqueName } from "./helpers.js";

const streamHandler = `
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const s = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 202,
    headers: { "content-type": "text/plain", "x-path": event.rawPath },
    cookies: ["c=1"],
  });
  for (let i = 0; i < 3; i++) {
    s.write("part-" + i + ";");
    await new Promise((r) => setTimeout(r, 200));
  }
  s.end();
});
`;

// fetchURL reaches a FunctionUrl on lambada's port: Node's resolver may not
// map *.localhost to loopback, so the request goes to the endpoint with the
// URL's Host (what curl and browsers do by name).
function fetchURL(functionUrl, path = "", init = {}) {
  const u = new URL(functionUrl);
  const endpoint = new URL(process.env.AWS_ENDPOINT_URL_LAMBDA);
  const id = u.hostname.split(".")[0];
  // fetch forbids setting Host: use the path-style address.
  return fetch(`${endpoint.origin}/_lambda-url/${id}/${path}`, init);
}

async function makePublic(lambda, name) {
  await lambda.send(new AddPermissionCommand({ FunctionName: name, StatementId: "url", Action: "lambda:InvokeFunctionUrl", Principal: "*", FunctionUrlAuthType: "NONE" }));
  await lambda.send(new AddPermissionCommand({ FunctionName: name, StatementId: "invoke", Action: "lambda:InvokeFunction", Principal: "*", InvokedViaFunctionUrl: true }));
}

describe("function URLs", () => {
  const lambda = client();
  const echo = uniqueName("js-url");
  const streamer = uniqueName("js-url-stream");

  before(async () => {
    await createEcho(lambda, echo);
    await createFunction(lambda, { FunctionName: streamer, Runtime: "nodejs20.x", Handler: "index.handler", Code: { ZipFile: storedZip({ "index.mjs": streamHandler }) } });
  });

  after(async () => {
    for (const n of [echo, streamer]) await lambda.send(new DeleteFunctionCommand({ FunctionName: n })).catch(() => {});
    lambda.destroy();
  });

  it("control plane round trip and errors", async () => {
    const created = await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: echo, AuthType: "NONE", Cors: { AllowOrigins: ["*"] } }));
    assert.equal(created.$metadata.httpStatusCode, 201);
    assert.match(created.FunctionUrl, /^http:\/\/[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:\d+\/$/);
    assert.equal(created.InvokeMode, undefined);
    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: echo }));
    assert.equal(got.FunctionUrl, created.FunctionUrl);
    assert.equal(got.InvokeMode, "BUFFERED");
    const upd = await lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: echo, AuthType: "NONE" }));
    assert.equal(upd.FunctionUrl, created.FunctionUrl);
    const list = await lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: echo }));
    assert.equal(list.FunctionUrlConfigs.length, 1);

    assertError(await rejects(() => lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: echo, AuthType: "NONE" }))),
      "ResourceConflictException", 409,
      `Failed to create function url config for [functionArn = ${created.FunctionArn}]. Error message:  FunctionUrlConfig exists for this Lambda function`);
    const e = await rejects(() => lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: echo, Qualifier: "$LATEST" })));
    assert.equal(e.name, "ValidationException");
    assert.equal(e.$metadata.httpStatusCode, 400);
    assertError(await rejects(() => lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: uniqueName("missing") }))),
      "ResourceNotFoundException", 404, "The resource you requested does not exist.");
  });

  it("a NONE URL answers 403 until the policy allows the public, then invokes", async () => {
    const { FunctionUrl } = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: echo }));
    const denied = await fetchURL(FunctionUrl, "x");
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get("x-amzn-errortype"), "AccessDeniedException");
    await denied.text();
    await makePublic(lambda, echo);
    const policy = await lambda.send(new GetPolicyCommand({ FunctionName: echo }));
    assert.equal(JSON.parse(policy.Policy).Statement.length, 2);

    const res = await fetchURL(FunctionUrl, "a%2Fb?x=1&x=2", { method: "POST", headers: { "content-type": "application/json", origin: "https://site.example" }, body: '{"hi":1}' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const ev = await res.json();
    assert.equal(ev.version, "2.0");
    assert.equal(ev.rawPath, "/a%2Fb");
    assert.equal(ev.queryStringParameters.x, "1,2");
    assert.equal(ev.body, '{"hi":1}');
    assert.equal(ev.requestContext.requestId, res.headers.get("x-amzn-requestid"));
  });

  it("RESPONSE_STREAM: Node HttpResponseStream's head, then parts as written", async () => {
    const { FunctionUrl } = await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: streamer, AuthType: "NONE", InvokeMode: "RESPONSE_STREAM" }));
    await makePublic(lambda, streamer);
    const start = Date.now();
    const res = await fetchURL(FunctionUrl, "deep/path");
    assert.equal(res.status, 202);
    assert.equal(res.headers.get("content-type"), "text/plain");
    assert.equal(res.headers.get("x-path"), "/deep/path");
    assert.equal(res.headers.get("set-cookie"), "c=1");
    const dec = new TextDecoder();
    const parts = [];
    const times = [];
    for await (const chunk of res.body) {
      parts.push(dec.decode(chunk));
      times.push(Date.now() - start);
    }
    assert.equal(parts.join(""), "part-0;part-1;part-2;");
    assert.ok(times.length >= 2 && times[times.length - 1] - times[0] >= 300, `not streamed: ${times}`);
  });

  it("the seed's streaming example reaches the same function through InvokeWithResponseStream", async () => {
    const seedClient = new LambdaClient({ region: "us-east-1" });
    try {
      const command = new InvokeWithResponseStreamCommand({ FunctionName: streamer, InvokeMode: "RESPONSE_STREAM", Payload: JSON.stringify({ prompt: "Generate a story" }) });
      const response = await seedClient.send(command);
      let body = "";
      let complete = false;
      for await (const event of response.EventStream) {
        if (event.PayloadChunk) body += new TextDecoder().decode(event.PayloadChunk.Payload);
        if (event.InvokeComplete) complete = true;
      }
      assert.ok(complete);
      // Through the Invoke API the HTTP prelude is part of the payload.
      assert.ok(body.endsWith("part-0;part-1;part-2;"), body);
      assert.ok(body.startsWith('{"statusCode":202'), body);
    } finally {
      seedClient.destroy();
    }
  });

  it("deleted URLs answer 403 {\"Message\":null}", async () => {
    const { FunctionUrl } = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: echo }));
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: echo }));
    const res = await fetchURL(FunctionUrl);
    assert.equal(res.status, 403);
    assert.equal(await res.text(), '{"Message":null}');
  });
});
