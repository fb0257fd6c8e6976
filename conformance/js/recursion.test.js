// FunctionRecursionConfig from the JS SDK, and a Node.js function that
// calls lambada back with @aws-sdk/client-lambda configured only by the
// environment lambada injects.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import {
  DeleteFunctionCommand,
  GetFunctionRecursionConfigCommand,
  InvokeCommand,
  PutFunctionRecursionConfigCommand,
} from "@aws-sdk/client-lambda";

import { assertError, client, createEcho, createFunction, rejects, storedZip, uniqueName } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const enc = (v) => new TextEncoder().encode(JSON.stringify(v));
const dec = (p) => new TextDecoder().decode(p);


// nodeModules maps every file of this suite's node_modules (the SDK and
// its dependencies) to its zip path, so a function can import the SDK.
function nodeModules() {
  const files = {};
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(here, p)] = readFileSync(p);
    }
  };
  walk(join(here, "node_modules"));
  return files;
}

const callerSource = `
import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";
// No endpoint, region or credentials here: all come from the environment.
const lambda = new LambdaClient({});
export const handler = async (event) => {
  const out = await lambda.send(new InvokeCommand({
    FunctionName: event.target,
    Payload: new TextEncoder().encode(JSON.stringify({ op: "echo", from: "node" })),
  }));
  return {
    status: out.StatusCode,
    payload: JSON.parse(new TextDecoder().decode(out.Payload)),
    endpoint: process.env.AWS_ENDPOINT_URL_LAMBDA,
    keyPrefix: (process.env.AWS_ACCESS_KEY_ID || "").slice(0, 4),
  };
};
`;

describe("recursion and callbacks", () => {
  const lambda = client();
  const target = uniqueName("js-target");
  const caller = uniqueName("js-caller");

  before(async () => {
    await createEcho(lambda, target);
  });

  after(async () => {
    for (const name of [target, caller]) {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    }
    lambda.destroy();
  });

  it("GetFunctionRecursionConfig defaults to Terminate; Put Allow is kept", async () => {
    const got = await lambda.send(new GetFunctionRecursionConfigCommand({ FunctionName: target }));
    assert.equal(got.RecursiveLoop, "Terminate");
    const put = await lambda.send(new PutFunctionRecursionConfigCommand({ FunctionName: target, RecursiveLoop: "Allow" }));
    assert.equal(put.RecursiveLoop, "Allow");
    assert.equal((await lambda.send(new GetFunctionRecursionConfigCommand({ FunctionName: target }))).RecursiveLoop, "Allow");
    await lambda.send(new PutFunctionRecursionConfigCommand({ FunctionName: target, RecursiveLoop: "Terminate" }));
  });

  it("a bad RecursiveLoop → ValidationException", async () => {
    const e = await rejects(() =>
      lambda.send(new PutFunctionRecursionConfigCommand({ FunctionName: target, RecursiveLoop: "Sometimes" })),
    );
    assertError(
      e,
      "ValidationException",
      400,
      "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]",
    );
  });

  it("a missing RecursiveLoop → ValidationException", async () => {
    const e = await rejects(() => lambda.send(new PutFunctionRecursionConfigCommand({ FunctionName: target })));
    assertError(
      e,
      "ValidationException",
      400,
      "1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: Member must not be null",
    );
  });

  it("a qualified name → ValidationException at functionName", async () => {
    const e = await rejects(() => lambda.send(new GetFunctionRecursionConfigCommand({ FunctionName: `${target}:1` })));
    assertError(
      e,
      "ValidationException",
      400,
      /at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
  });

  it("an unknown function → ResourceNotFoundException", async () => {
    const missing = uniqueName("js-missing");
    const e = await rejects(() => lambda.send(new GetFunctionRecursionConfigCommand({ FunctionName: missing })));
    assertError(e, "ResourceNotFoundException", 404, `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${missing}`);
  });

  it("a Node.js function calls another with the injected environment only", async () => {
    await createFunction(lambda, {
      FunctionName: caller,
      Runtime: "nodejs20.x",
      Handler: "index.handler",
      Timeout: 30,
      Code: { ZipFile: storedZip({ "index.mjs": callerSource, ...nodeModules() }) },
    });
    const out = await lambda.send(new InvokeCommand({ FunctionName: caller, Payload: enc({ target }) }));
    const got = JSON.parse(dec(out.Payload));
    assert.equal(out.FunctionError, undefined, JSON.stringify(got));
    assert.equal(got.status, 200);
    assert.deepEqual(got.payload, { op: "echo", from: "node" });
    assert.equal(got.keyPrefix, "ASIA");
    assert.ok(got.endpoint.startsWith("http://127.0.0.1:"), got.endpoint);
  });
});
