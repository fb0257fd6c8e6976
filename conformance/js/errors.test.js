// The errors a JS caller branches on: each must arrive as the SDK's named
// exception with the HTTP status and message AWS sends.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  ListFunctionsCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateFunctionConfigurationCommand,
} from "@aws-sdk/client-lambda";

import { ROLE, assertError, bootstrapZip, client, rejects, secretAccessKey, uniqueName } from "./helpers.js";

describe("error cases", () => {
  const lambda = client();
  const name = uniqueName("js-err");
  let functionArn;

  function createInput(overrides = {}) {
    return {
      FunctionName: name,
      Role: ROLE,
      Runtime: "provided.al2023",
      Handler: "bootstrap",
      Code: { ZipFile: bootstrapZip(name) },
      ...overrides,
    };
  }

  before(async () => {
    const out = await lambda.send(new CreateFunctionCommand(createInput()));
    functionArn = out.FunctionArn;
  });

  after(async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {});
    lambda.destroy();
  });

  it("missing function → ResourceNotFoundException 404", async () => {
    const missing = uniqueName("js-missing");
    const arn = functionArn.replace(/[^:]+$/, missing);
    const e = await rejects(() => lambda.send(new GetFunctionCommand({ FunctionName: missing })));
    assert.ok(e instanceof ResourceNotFoundException);
    assertError(e, "ResourceNotFoundException", 404, `Function not found: ${arn}`);

    const q = await rejects(() =>
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: missing, Qualifier: "7" })),
    );
    assertError(q, "ResourceNotFoundException", 404, `Function not found: ${arn}:7`);
  });

  it("duplicate create → ResourceConflictException 409", async () => {
    const e = await rejects(() => lambda.send(new CreateFunctionCommand(createInput())));
    assert.ok(e instanceof ResourceConflictException);
    assertError(e, "ResourceConflictException", 409, `Function already exist: ${name}`);
  });

  it("stale RevisionId → PreconditionFailedException 412", async () => {
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: "moved on" }),
    );
    const e = await rejects(() =>
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: name,
          Description: "stale",
          RevisionId: current.RevisionId,
        }),
      ),
    );
    assertError(
      e,
      "PreconditionFailedException",
      412,
      "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    );
    const now = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    assert.equal(now.Description, "moved on");
  });

  it("bad runtime → InvalidParameterValueException 400", async () => {
    const e = await rejects(() =>
      lambda.send(
        new CreateFunctionCommand(
          createInput({ FunctionName: uniqueName("js-badrt"), Runtime: "python9" }),
        ),
      ),
    );
    assertError(
      e,
      "InvalidParameterValueException",
      400,
      /^Value python9 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: \[.*provided\.al2023.*\] or be a valid ARN$/,
    );
  });

  it("wrong secret → InvalidSignatureException 403", async () => {
    const bad = client({
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: `${secretAccessKey}x`,
      },
    });
    try {
      const e = await rejects(() => bad.send(new ListFunctionsCommand({})));
      assertError(
        e,
        "InvalidSignatureException",
        403,
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      );
    } finally {
      bad.destroy();
    }
  });
});
