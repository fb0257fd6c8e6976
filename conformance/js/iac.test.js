// What infrastructure-as-code tools call besides the function itself, through
// the real AWS SDK for JavaScript v3: tags, the code-signing, runtime-management
// and provisioned-concurrency reads, and the clear refusals.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  DeleteFunctionCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionCommand,
  GetProvisionedConcurrencyConfigCommand,
  GetRuntimeManagementConfigCommand,
  ListProvisionedConcurrencyConfigsCommand,
  ListTagsCommand,
  PublishVersionCommand,
  PutFunctionCodeSigningConfigCommand,
  PutRuntimeManagementConfigCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-lambda";

import { assertError, bootstrapZip, client, createFunction, rejects, uniqueName } from "./helpers.js";

describe("tags and the settings tools read", () => {
  const lambda = client();
  const name = uniqueName("js-iac");
  let arn;

  before(async () => {
    const c = await createFunction(lambda, {
      FunctionName: name,
      Runtime: "provided.al2023",
      Handler: "bootstrap",
      Code: { ZipFile: bootstrapZip("iac") },
      Tags: { team: "a" },
    });
    arn = c.FunctionArn;
    await lambda.send(new PublishVersionCommand({ FunctionName: name }));
  });
  after(() => lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => {}));

  it("tags round-trip through TagResource, UntagResource, ListTags and GetFunction", async () => {
    assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, { team: "a" });
    await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { team: "b", env: "dev" } }));
    await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ["team"] }));
    assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, { env: "dev" });
    assert.deepEqual((await lambda.send(new GetFunctionCommand({ FunctionName: name }))).Tags, { env: "dev" });
  });

  it("refuses tags on a version", async () => {
    const e = await rejects(() => lambda.send(new TagResourceCommand({ Resource: `${arn}:1`, Tags: { a: "b" } })));
    assertError(
      e,
      "InvalidParameterValueException",
      400,
      "Tagging operations are permitted on Lambda functions only. Tags on aliases and versions are not supported. Please specify either a function name or a function ARN.",
    );
  });

  it("answers the code-signing, runtime-management and provisioned-concurrency reads", async () => {
    const csc = await lambda.send(new GetFunctionCodeSigningConfigCommand({ FunctionName: name }));
    assert.equal(csc.CodeSigningConfigArn, "");
    assert.equal(csc.FunctionName, name);
    const rm = await lambda.send(new GetRuntimeManagementConfigCommand({ FunctionName: name }));
    assert.equal(rm.UpdateRuntimeOn, "Auto");
    assert.equal(rm.FunctionArn, arn);
    const pcs = await lambda.send(new ListProvisionedConcurrencyConfigsCommand({ FunctionName: name }));
    assert.deepEqual(pcs.ProvisionedConcurrencyConfigs, []);
    const e = await rejects(() =>
      lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: name, Qualifier: "1" })),
    );
    assertError(e, "ProvisionedConcurrencyConfigNotFoundException", 404, "No Provisioned Concurrency Config found for this function");
  });

  it("refuses what lambada does not do, saying why", async () => {
    let e = await rejects(() =>
      lambda.send(
        new PutFunctionCodeSigningConfigCommand({
          FunctionName: name,
          CodeSigningConfigArn: "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0",
        }),
      ),
    );
    assertError(e, "InvalidParameterValueException", 400, "Code signing is not supported by this server: lambada does not verify code signatures.");
    e = await rejects(() => lambda.send(new PutRuntimeManagementConfigCommand({ FunctionName: name, UpdateRuntimeOn: "Manual" })));
    assertError(e, "InvalidParameterValueException", 400, /^UpdateRuntimeOn Manual is not supported by this server/);
  });
});
