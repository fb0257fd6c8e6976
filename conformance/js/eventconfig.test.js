// FunctionEventInvokeConfig through the real AWS SDK for JavaScript v3
// (docs/behaviour/async.md §3): LastModified must parse as a Date (a JSON
// number on the wire), both destination sides are always present, the list
// is ordered and paginated, and errors arrive as the SDK's named exceptions.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DeleteFunctionEventInvokeConfigCommand,
  GetFunctionEventInvokeConfigCommand,
  LambdaServiceException,
  ListFunctionEventInvokeConfigsCommand,
  PublishVersionCommand,
  PutFunctionEventInvokeConfigCommand,
  ResourceNotFoundException,
  UpdateFunctionEventInvokeConfigCommand,
  paginateListFunctionEventInvokeConfigs,
} from "@aws-sdk/client-lambda";

import { ROLE, bootstrapZip, client, rejects, uniqueName } from "./helpers.js";

const SQS = "arn:aws:sqs:us-east-1:000000000000:queue";

describe("event invoke config", () => {
  const lambda = client();
  const name = uniqueName("js-eic");
  const dest = uniqueName("js-eic-dest");
  let arn; // unqualified ARN of name
  let destArn;

  before(async () => {
    for (const fn of [name, dest]) {
      const out = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: fn,
          Role: ROLE,
          Runtime: "provided.al2023",
          Handler: "bootstrap",
          Code: { ZipFile: bootstrapZip(fn) },
        }),
      );
      if (fn === name) arn = out.FunctionArn;
      else destArn = out.FunctionArn;
    }
    await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: "live", FunctionVersion: "1" }));
  });

  after(async () => {
    for (const fn of [name, dest]) {
      await lambda.send(new DeleteFunctionCommand({ FunctionName: fn })).catch(() => {});
    }
    lambda.destroy();
  });

  it("Put returns the qualified ARN, a Date and both destination sides", async () => {
    const out = await lambda.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: name,
        MaximumRetryAttempts: 1,
        DestinationConfig: { OnFailure: { Destination: destArn } },
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.FunctionArn, `${arn}:$LATEST`);
    assert.ok(out.LastModified instanceof Date, `LastModified ${out.LastModified}`);
    assert.ok(Math.abs(Date.now() - out.LastModified.getTime()) < 5000, `LastModified ${out.LastModified.toISOString()}`);
    assert.equal(out.MaximumRetryAttempts, 1);
    assert.equal(out.MaximumEventAgeInSeconds, undefined);
    assert.deepEqual(out.DestinationConfig, { OnSuccess: {}, OnFailure: { Destination: destArn } });
  });

  it("Update merges, Get reads it back", async () => {
    const upd = await lambda.send(
      new UpdateFunctionEventInvokeConfigCommand({
        FunctionName: name,
        MaximumEventAgeInSeconds: 120,
        DestinationConfig: { OnSuccess: { Destination: SQS } },
      }),
    );
    assert.equal(upd.MaximumRetryAttempts, 1);
    assert.equal(upd.MaximumEventAgeInSeconds, 120);
    assert.deepEqual(upd.DestinationConfig, { OnSuccess: { Destination: SQS }, OnFailure: { Destination: destArn } });
    const got = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: name, Qualifier: "$LATEST" }));
    assert.equal(got.FunctionArn, `${arn}:$LATEST`);
    assert.equal(got.LastModified.getTime(), upd.LastModified.getTime());
    assert.equal(got.MaximumEventAgeInSeconds, 120);
  });

  it("List walks $LATEST, versions, aliases one page at a time", async () => {
    await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: name, Qualifier: "live", MaximumRetryAttempts: 0 }));
    await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: `${name}:1`, MaximumEventAgeInSeconds: 60 }));
    const arns = [];
    let pages = 0;
    for await (const page of paginateListFunctionEventInvokeConfigs({ client: lambda, pageSize: 1 }, { FunctionName: name })) {
      pages++;
      assert.ok(pages <= 3, "paginator does not stop");
      assert.equal(page.FunctionEventInvokeConfigs.length, 1);
      if (pages === 3) assert.equal(page.NextMarker, undefined);
      arns.push(...page.FunctionEventInvokeConfigs.map((c) => c.FunctionArn));
    }
    assert.deepEqual(arns, [`${arn}:$LATEST`, `${arn}:1`, `${arn}:live`]);
    const empty = await lambda.send(new ListFunctionEventInvokeConfigsCommand({ FunctionName: dest }));
    assert.deepEqual(empty.FunctionEventInvokeConfigs, []);
  });

  it("Delete, then Get is ResourceNotFoundException", async () => {
    const out = await lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: name, Qualifier: "live" }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const e = await rejects(() => lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: name, Qualifier: "live" })));
    assert.ok(e instanceof ResourceNotFoundException, `${e?.stack ?? e}`);
    assert.equal(e.$metadata.httpStatusCode, 404);
    assert.equal(e.message, `The function ${arn}:live doesn't have an EventInvokeConfig`);
  });

  it("validation errors arrive as named exceptions", async () => {
    const e = await rejects(() =>
      lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: name, MaximumRetryAttempts: 3 })),
    );
    assert.ok(e instanceof LambdaServiceException, `${e?.stack ?? e}`);
    assert.equal(e.name, "ValidationException");
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.equal(
      e.message,
      "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2",
    );
    const self = await rejects(() =>
      lambda.send(
        new PutFunctionEventInvokeConfigCommand({ FunctionName: name, DestinationConfig: { OnFailure: { Destination: arn } } }),
      ),
    );
    assert.equal(self.name, "InvalidParameterValueException");
    assert.equal(self.$metadata.httpStatusCode, 400);
    assert.equal(self.message, "You can't specify the function as a destination for itself.");
    // Nothing changed.
    const got = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: name }));
    assert.equal(got.MaximumRetryAttempts, 1);
    assert.equal(got.DestinationConfig.OnFailure.Destination, destArn);
  });
});
