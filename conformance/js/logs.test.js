// Function logs with @aws-sdk/client-cloudwatch-logs: the client finds
// lambada through AWS_ENDPOINT_URL_CLOUDWATCH_LOGS (no endpoint option),
// reads the lines of sync and Event invocations with FilterLogEvents and
// GetLogEvents, lists groups and streams, and sees AWS's errors.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  ResourceNotFoundException,
  paginateFilterLogEvents,
} from "@aws-sdk/client-cloudwatch-logs";
import { DeleteFunctionCommand, InvokeCommand } from "@aws-sdk/client-lambda";

import { REGION, client, createEcho, uniqueName } from "./helpers.js";

const enc = (v) => new TextEncoder().encode(JSON.stringify(v));

describe("function logs through CloudWatch Logs", () => {
  const lambda = client();
  const logs = new CloudWatchLogsClient({ region: REGION });
  const name = uniqueName("js-logs");
  const group = `/aws/lambda/${name}`;

  before(async () => {
    assert.ok(process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS is not set");
    await createEcho(lambda, name);
    await lambda.send(new InvokeCommand({ FunctionName: name, Payload: enc({ op: "log", lines: ["js-sync-line"] }) }));
    await lambda.send(
      new InvokeCommand({ FunctionName: name, InvocationType: "Event", Payload: enc({ op: "log", lines: ["js-event-line"] }) }),
    );
  });
  after(() => lambda.send(new DeleteFunctionCommand({ FunctionName: name })));

  // events polls until both invocations' lines are stored.
  async function events() {
    for (let i = 0; i < 100; i++) {
      try {
        const out = await logs.send(new FilterLogEventsCommand({ logGroupName: group }));
        const text = out.events.map((e) => e.message).join("");
        if (text.includes("js-sync-line\n") && text.includes("js-event-line\n")) return out;
      } catch (e) {
        if (!(e instanceof ResourceNotFoundException)) throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the invocations' lines never arrived");
  }

  it("FilterLogEvents returns every line with AWS's fields, paginated", async () => {
    const out = await events();
    assert.equal(out.nextToken, undefined);
    assert.deepEqual(out.searchedLogStreams, []);
    for (const e of out.events) {
      assert.match(e.logStreamName, /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
      assert.ok(e.timestamp > 0 && e.ingestionTime >= e.timestamp, JSON.stringify(e));
      assert.match(e.eventId, /^\d+$/);
    }
    const starts = out.events.filter((e) => e.message.startsWith("START RequestId: "));
    const reports = out.events.filter((e) => e.message.startsWith("REPORT RequestId: "));
    assert.ok(starts.length >= 2 && reports.length === starts.length, "START and REPORT per invocation");

    const paged = [];
    for await (const page of paginateFilterLogEvents({ client: logs, pageSize: 3 }, { logGroupName: group })) {
      paged.push(...page.events);
    }
    assert.deepEqual(
      paged.map((e) => e.eventId),
      out.events.map((e) => e.eventId),
    );

    const filtered = await logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: "?js-sync-line ?js-event-line" }));
    assert.deepEqual(
      filtered.events.map((e) => e.message),
      ["js-sync-line\n", "js-event-line\n"],
    );
  });

  it("GetLogEvents, DescribeLogGroups and DescribeLogStreams", async () => {
    await events();
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
    assert.equal(groups.logGroups.length, 1);
    assert.equal(groups.logGroups[0].arn, `arn:aws:logs:${REGION}:000000000000:log-group:${group}:*`);
    const streams = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: group, orderBy: "LastEventTime", descending: true, limit: 1 }),
    );
    assert.equal(streams.logStreams.length, 1);
    const stream = streams.logStreams[0].logStreamName;
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true }));
    assert.ok(got.events.some((e) => e.message === "js-event-line\n"));
    assert.match(got.nextForwardToken, /^f\//);
    const end = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, nextToken: got.nextForwardToken }),
    );
    assert.deepEqual(end.events, []);
    assert.equal(end.nextForwardToken, got.nextForwardToken);
  });

  it("errors are CloudWatch Logs exceptions with status 400", async () => {
    await assert.rejects(logs.send(new FilterLogEventsCommand({ logGroupName: `${group}-none` })), (e) => {
      assert.ok(e instanceof ResourceNotFoundException, `${e?.stack ?? e}`);
      assert.equal(e.$metadata.httpStatusCode, 400);
      assert.equal(e.message, "The specified log group does not exist.");
      return true;
    });
    await assert.rejects(logs.send(new FilterLogEventsCommand({ logGroupName: group, limit: 10001 })), (e) => {
      assert.ok(e instanceof CloudWatchLogsServiceException);
      assert.equal(e.name, "InvalidParameterException");
      assert.equal(e.$metadata.httpStatusCode, 400);
      return true;
    });
  });
});
