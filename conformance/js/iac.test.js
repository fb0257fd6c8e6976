// What infrastructure-as-code tools call besides the function itself, through
// the real AWS SDK for JavaScript v3: tags, the code-signing, runtime-management
// and provisioned-concurrency reads, and the clear refusals.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DeleteLayerVersionCommand,
  GetLayerVersionByArnCommand,
  InvokeCommand,
  ListLayerVersionsCommand,
  GetFunctionCodeSigningConfigCommand,
  GetFunctionCommand,
  GetProvisionedConcurrencyConfigCommand,
  GetRuntimeManagementConfigCommand,
  ListProvisionedConcurrencyConfigsCommand,
  ListTagsCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  PutFunctionCodeSigningConfigCommand,
  PutRuntimeManagementConfigCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-lambda";

import {
  ROLE,
  assertError,
  bootstrapZip,
  client,
  createFunction,
  rejects,
  storedZip,
  uniqueName,
  waitActive,
} from "./helpers.js";

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

describe("layers", () => {
  const lambda = client();
  const layer = uniqueName("js-layer");
  const fn = uniqueName("js-layered");
  after(async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: fn })).catch(() => {});
    for (const n of [1, 2]) {
      await lambda.send(new DeleteLayerVersionCommand({ LayerName: layer, VersionNumber: n })).catch(() => {});
    }
  });

  it("publishes, lists and serves a layer to a Node.js function, also after the version is deleted", async () => {
    const pub = async (who) =>
      lambda.send(
        new PublishLayerVersionCommand({
          LayerName: layer,
          Content: { ZipFile: storedZip({ "nodejs/node_modules/greet/index.js": `module.exports = () => "${who}";` }) },
          CompatibleRuntimes: ["nodejs22.x"],
        }),
      );
    const v1 = await pub("one");
    assert.equal(v1.Version, 1);
    assert.match(v1.LayerVersionArn, new RegExp(`:layer:${layer}:1$`));
    assert.deepEqual(v1.CompatibleRuntimes, ["nodejs22.x"]);
    const v2 = await pub("two");
    const list = await lambda.send(new ListLayerVersionsCommand({ LayerName: layer }));
    assert.deepEqual(
      list.LayerVersions.map((v) => v.Version),
      [2, 1],
    );
    const got = await lambda.send(new GetLayerVersionByArnCommand({ Arn: v2.LayerVersionArn }));
    assert.equal(got.Content.CodeSha256, v2.Content.CodeSha256);

    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: fn,
        Role: ROLE,
        Runtime: "nodejs22.x",
        Handler: "index.handler",
        Code: { ZipFile: storedZip({ "index.js": `exports.handler = async () => require("greet")();` }) },
        Layers: [v2.LayerVersionArn],
      }),
    );
    const c = await waitActive(lambda, fn);
    assert.deepEqual(
      c.Layers.map((l) => l.Arn),
      [v2.LayerVersionArn],
    );
    const invoke = async () => {
      const out = await lambda.send(new InvokeCommand({ FunctionName: fn }));
      assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload).toString());
      return JSON.parse(Buffer.from(out.Payload).toString());
    };
    assert.equal(await invoke(), "two");
    await lambda.send(new DeleteLayerVersionCommand({ LayerName: layer, VersionNumber: 2 }));
    assert.equal(await invoke(), "two");
  });

  it("refuses a layer version that does not exist", async () => {
    const e = await rejects(() =>
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: uniqueName("js-nolayer"),
          Role: ROLE,
          Runtime: "provided.al2023",
          Handler: "bootstrap",
          Code: { ZipFile: bootstrapZip("x") },
          Layers: [`arn:aws:lambda:us-east-1:000000000000:layer:${layer}:99`],
        }),
      ),
    );
    assertError(e, "InvalidParameterValueException", 400, `Layer version arn:aws:lambda:us-east-1:000000000000:layer:${layer}:99 does not exist.`);
  });
});
