// The function-management lifecycle through the real AWS SDK for JavaScript
// v3, in the order a user would go: create, read, list, update, publish,
// alias, concurrency, delete. Steps run in order and build on each other.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  paginateListFunctions,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from "@aws-sdk/client-lambda";

import {
  REGION,
  ROLE,
  bootstrapZip,
  client,
  crc32,
  crc32Portable,
  rejects,
  sha256Base64,
  uniqueName,
} from "./helpers.js";

const LAST_MODIFIED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("zip writer", () => {
  it("computes CRC-32 like zlib", () => {
    const check = Buffer.from("123456789");
    assert.equal(crc32Portable(check), 0xcbf43926);
    assert.equal(crc32(check), 0xcbf43926);
  });
});

describe("function management lifecycle", () => {
  const lambda = client();
  const name = uniqueName("js-life");
  const others = [uniqueName("js-list-a"), uniqueName("js-list-b")];
  const zip1 = bootstrapZip("one");
  const zip2 = bootstrapZip("two");
  let arnPrefix; // arn:aws:lambda:us-east-1:<account>:function:
  let functionArn;
  let revision;

  after(async () => {
    // Best effort: leave nothing behind when a step failed half-way.
    for (const fn of [name, ...others]) {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: fn })).catch(() => {});
    }
    lambda.destroy();
  });

  it("CreateFunction with a zip built here", async () => {
    const out = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Role: ROLE,
        Runtime: "provided.al2023",
        Handler: "bootstrap",
        Description: "made by the JS conformance suite",
        Code: { ZipFile: zip1 },
        Environment: { Variables: { GREETING: "hello" } },
        Tags: { suite: "js" },
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.FunctionName, name);
    assert.match(out.FunctionArn, new RegExp(`^arn:aws:lambda:${REGION}:\\d{12}:function:${name}$`));
    functionArn = out.FunctionArn;
    arnPrefix = functionArn.slice(0, -name.length);
    assert.equal(out.Version, "$LATEST");
    assert.equal(out.Runtime, "provided.al2023");
    assert.equal(out.Role, ROLE);
    assert.equal(out.Handler, "bootstrap");
    assert.equal(out.CodeSize, zip1.length);
    assert.equal(out.CodeSha256, sha256Base64(zip1));
    assert.equal(out.Timeout, 3);
    assert.equal(out.MemorySize, 128);
    assert.equal(out.PackageType, "Zip");
    assert.equal(out.State, "Pending");
    assert.equal(out.StateReasonCode, "Creating");
    assert.equal(out.LastUpdateStatus, "Successful");
    assert.match(out.LastModified, LAST_MODIFIED);
    assert.match(out.RevisionId, UUID);
    assert.deepEqual(out.Environment, { Variables: { GREETING: "hello" } });
    assert.equal(out.Architectures.length, 1);
    assert.deepEqual(out.EphemeralStorage, { Size: 512 });
    assert.deepEqual(out.TracingConfig, { Mode: "PassThrough" });
    assert.equal(out.LoggingConfig.LogGroup, `/aws/lambda/${name}`);
  });

  it("waitUntilFunctionActiveV2 returns at once", async () => {
    const start = Date.now();
    const res = await waitUntilFunctionActiveV2(
      { client: lambda, maxWaitTime: 20 },
      { FunctionName: name },
    );
    assert.equal(res.state, "SUCCESS");
    assert.ok(Date.now() - start < 3000, `waiter took ${Date.now() - start} ms`);
  });

  it("GetFunction", async () => {
    const out = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    const c = out.Configuration;
    assert.equal(c.FunctionArn, functionArn);
    assert.equal(c.State, "Active");
    assert.equal(c.StateReason, undefined);
    assert.equal(c.LastUpdateStatus, "Successful");
    assert.equal(c.CodeSha256, sha256Base64(zip1));
    assert.deepEqual(out.Tags, { suite: "js" });
    assert.equal(out.Concurrency, undefined);
    assert.equal(out.Code.RepositoryType, "S3");
    // Code.Location downloads the very zip we uploaded, without credentials.
    const resp = await fetch(out.Code.Location);
    assert.equal(resp.status, 200);
    assert.deepEqual(Buffer.from(await resp.arrayBuffer()), zip1);
    revision = c.RevisionId;
  });

  it("GetFunctionConfiguration, unqualified and $LATEST", async () => {
    const out = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    assert.equal(out.FunctionArn, functionArn);
    assert.equal(out.RevisionId, revision);
    assert.equal(out.Description, "made by the JS conformance suite");
    const latest = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionArn, Qualifier: "$LATEST" }),
    );
    assert.equal(latest.FunctionArn, `${functionArn}:$LATEST`);
    assert.equal(latest.Version, "$LATEST");
  });

  it("ListFunctions with paginateListFunctions walks every page", async () => {
    for (const fn of others) {
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: fn,
          Role: ROLE,
          Runtime: "provided.al2023",
          Handler: "bootstrap",
          Code: { ZipFile: bootstrapZip(fn) },
        }),
      );
    }
    const seen = [];
    let pages = 0;
    for await (const page of paginateListFunctions({ client: lambda, pageSize: 1 }, {})) {
      pages++;
      assert.ok(page.Functions.length <= 1, `page of ${page.Functions.length} with MaxItems=1`);
      seen.push(...page.Functions);
    }
    const names = seen.map((f) => f.FunctionName);
    assert.equal(new Set(names).size, names.length, "a function was listed twice");
    for (const fn of [name, ...others]) assert.ok(names.includes(fn), `${fn} not listed`);
    assert.ok(pages >= 3, `only ${pages} pages`);
    const mine = seen.find((f) => f.FunctionName === name);
    assert.equal(mine.FunctionArn, functionArn);
    assert.equal(mine.Version, "$LATEST");
    // Ordered by name.
    const sorted = [...names].sort();
    assert.deepEqual(names, sorted);
  });

  it("UpdateFunctionConfiguration, then waitUntilFunctionUpdatedV2 returns at once", async () => {
    const out = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: name,
        Timeout: 30,
        MemorySize: 256,
        Description: "configured",
        Environment: { Variables: { GREETING: "hi", EXTRA: "1" } },
        RevisionId: revision,
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.Timeout, 30);
    assert.equal(out.MemorySize, 256);
    assert.equal(out.Description, "configured");
    assert.deepEqual(out.Environment, { Variables: { GREETING: "hi", EXTRA: "1" } });
    assert.equal(out.LastUpdateStatus, "Successful");
    assert.notEqual(out.RevisionId, revision);
    revision = out.RevisionId;

    const start = Date.now();
    const res = await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 20 },
      { FunctionName: name },
    );
    assert.equal(res.state, "SUCCESS");
    assert.ok(Date.now() - start < 3000, `waiter took ${Date.now() - start} ms`);
  });

  it("PublishVersion makes version 1", async () => {
    const out = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.Version, "1");
    assert.equal(out.FunctionArn, `${functionArn}:1`);
    assert.equal(out.CodeSha256, sha256Base64(zip1));
    assert.equal(out.Timeout, 30);
    // Nothing changed since: the same version comes back.
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    assert.equal(again.Version, "1");
  });

  it("UpdateFunctionCode replaces $LATEST's code", async () => {
    const out = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: zip2, RevisionId: revision }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.Version, "$LATEST");
    assert.equal(out.FunctionArn, functionArn);
    assert.equal(out.CodeSha256, sha256Base64(zip2));
    assert.equal(out.CodeSize, zip2.length);
    assert.notEqual(out.RevisionId, revision);
    revision = out.RevisionId;
    const res = await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 20 },
      { FunctionName: name },
    );
    assert.equal(res.state, "SUCCESS");
  });

  it("PublishVersion with the current CodeSha256 makes version 2", async () => {
    const out = await lambda.send(
      new PublishVersionCommand({
        FunctionName: name,
        CodeSha256: sha256Base64(zip2),
        Description: "second",
      }),
    );
    assert.equal(out.Version, "2");
    assert.equal(out.Description, "second");
    assert.equal(out.FunctionArn, `${functionArn}:2`);
  });

  it("ListVersionsByFunction lists $LATEST then versions ascending", async () => {
    const out = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
    assert.deepEqual(
      out.Versions.map((v) => v.Version),
      ["$LATEST", "1", "2"],
    );
    assert.deepEqual(
      out.Versions.map((v) => v.FunctionArn),
      [`${functionArn}:$LATEST`, `${functionArn}:1`, `${functionArn}:2`],
    );
    assert.equal(out.NextMarker, undefined);
    assert.equal(out.Versions[1].CodeSha256, sha256Base64(zip1));
    assert.equal(out.Versions[2].CodeSha256, sha256Base64(zip2));
  });

  let aliasRevision;

  it("CreateAlias with RoutingConfig", async () => {
    const out = await lambda.send(
      new CreateAliasCommand({
        FunctionName: name,
        Name: "live",
        FunctionVersion: "1",
        Description: "canary",
        RoutingConfig: { AdditionalVersionWeights: { 2: 0.25 } },
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.AliasArn, `${functionArn}:live`);
    assert.equal(out.Name, "live");
    assert.equal(out.FunctionVersion, "1");
    assert.equal(out.Description, "canary");
    assert.deepEqual(out.RoutingConfig, { AdditionalVersionWeights: { 2: 0.25 } });
    assert.match(out.RevisionId, UUID);
    aliasRevision = out.RevisionId;
  });

  it("GetAlias, and the function through the alias", async () => {
    const out = await lambda.send(new GetAliasCommand({ FunctionName: name, Name: "live" }));
    assert.equal(out.AliasArn, `${functionArn}:live`);
    assert.equal(out.FunctionVersion, "1");
    assert.equal(out.RevisionId, aliasRevision);
    assert.deepEqual(out.RoutingConfig, { AdditionalVersionWeights: { 2: 0.25 } });

    const conf = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `${name}:live` }),
    );
    assert.equal(conf.FunctionArn, `${functionArn}:live`);
    assert.equal(conf.Version, "1");
  });

  it("UpdateAlias moves it and clears the weights", async () => {
    const out = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: name,
        Name: "live",
        FunctionVersion: "2",
        Description: "all in",
        RoutingConfig: {},
        RevisionId: aliasRevision,
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.FunctionVersion, "2");
    assert.equal(out.Description, "all in");
    assert.equal(out.RoutingConfig, undefined);
    assert.notEqual(out.RevisionId, aliasRevision);
  });

  it("ListAliases, all and by FunctionVersion", async () => {
    await lambda.send(
      new CreateAliasCommand({ FunctionName: name, Name: "old", FunctionVersion: "1" }),
    );
    const all = await lambda.send(new ListAliasesCommand({ FunctionName: name }));
    assert.deepEqual(all.Aliases.map((a) => a.Name).sort(), ["live", "old"]);
    const onTwo = await lambda.send(
      new ListAliasesCommand({ FunctionName: name, FunctionVersion: "2" }),
    );
    assert.deepEqual(
      onTwo.Aliases.map((a) => a.Name),
      ["live"],
    );
  });

  it("Put/Get/DeleteFunctionConcurrency and GetAccountSettings", async () => {
    const before = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(before.$metadata.httpStatusCode, 200);
    const limit = before.AccountLimit;
    assert.equal(limit.CodeSizeZipped, 52428800);
    assert.equal(limit.CodeSizeUnzipped, 262144000);
    assert.ok(limit.ConcurrentExecutions >= 100);
    assert.ok(limit.UnreservedConcurrentExecutions <= limit.ConcurrentExecutions);
    assert.ok(before.AccountUsage.FunctionCount >= 3);
    assert.ok(before.AccountUsage.TotalCodeSize > 0);

    const put = await lambda.send(
      new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: 7 }),
    );
    assert.equal(put.ReservedConcurrentExecutions, 7);
    const got = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }));
    assert.equal(got.ReservedConcurrentExecutions, 7);
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    assert.deepEqual(fn.Concurrency, { ReservedConcurrentExecutions: 7 });
    const during = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(
      during.AccountLimit.UnreservedConcurrentExecutions,
      limit.UnreservedConcurrentExecutions - 7,
    );

    const del = await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: name }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const none = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }));
    assert.equal(none.ReservedConcurrentExecutions, undefined);
    const afterDel = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(
      afterDel.AccountLimit.UnreservedConcurrentExecutions,
      limit.UnreservedConcurrentExecutions,
    );
  });

  it("DeleteAlias", async () => {
    for (const alias of ["live", "old"]) {
      const out = await lambda.send(new DeleteAliasCommand({ FunctionName: name, Name: alias }));
      assert.equal(out.$metadata.httpStatusCode, 204);
    }
    const e = await rejects(() =>
      lambda.send(new GetAliasCommand({ FunctionName: name, Name: "live" })),
    );
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.$metadata.httpStatusCode, 404);
    assert.equal(e.message, `Cannot find alias arn: ${functionArn}:live`);
    // Deleting an alias that is gone is still 204.
    const again = await lambda.send(new DeleteAliasCommand({ FunctionName: name, Name: "live" }));
    assert.equal(again.$metadata.httpStatusCode, 204);
  });

  it("DeleteFunction of one version", async () => {
    const out = await lambda.send(new DeleteFunctionCommand({ FunctionName: name, Qualifier: "1" }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const e = await rejects(() =>
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: "1" })),
    );
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.$metadata.httpStatusCode, 404);
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: name }));
    assert.deepEqual(
      versions.Versions.map((v) => v.Version),
      ["$LATEST", "2"],
    );
  });

  it("DeleteFunction of the whole function", async () => {
    const out = await lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const e = await rejects(() => lambda.send(new GetFunctionCommand({ FunctionName: name })));
    assert.equal(e.name, "ResourceNotFoundException");
    assert.equal(e.$metadata.httpStatusCode, 404);
    assert.equal(e.message, `Function not found: ${arnPrefix}${name}`);
  });
});
