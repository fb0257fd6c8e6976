// Shared pieces of the JS conformance suite: the client, unique names and a
// tiny zip writer, so the suite needs nothing beyond @aws-sdk/client-lambda.
import { createHash, randomBytes } from "node:crypto";
import zlib from "node:zlib";

import { readFileSync } from "node:fs";

import assert from "node:assert/strict";

import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  LambdaServiceException,
} from "@aws-sdk/client-lambda";

export const REGION = "us-east-1";
export const ROLE = "arn:aws:iam::000000000000:role/lambda-role";

function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: start "lambada server" and export the lines it prints ` +
        `(AWS_ENDPOINT_URL_LAMBDA, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)`,
    );
  }
  return v;
}

export const endpoint = requireEnv("AWS_ENDPOINT_URL_LAMBDA");
export const accessKeyId = requireEnv("AWS_ACCESS_KEY_ID");
export const secretAccessKey = requireEnv("AWS_SECRET_ACCESS_KEY");

// client is a real LambdaClient pointed at lambada; overrides change its
// options (for example a wrong secret).
export function client(overrides = {}) {
  return new LambdaClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId, secretAccessKey },
    ...overrides,
  });
}

// uniqueName gives a function name no other run (or test file) uses.
export function uniqueName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

export function sha256Base64(buf) {
  return createHash("sha256").update(buf).digest("base64");
}

// crc32 uses node:zlib's when this Node has it (20.15+, 22.2+), else the
// portable table-driven one below.
export function crc32(buf) {
  if (typeof zlib.crc32 === "function") return zlib.crc32(buf) >>> 0;
  return crc32Portable(buf);
}

let crcTable;
export function crc32Portable(buf) {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// storedZip builds a zip of uncompressed ("stored") entries written by a
// Unix host, so each entry's mode travels in the external attributes.
// files maps name → string or Buffer; "bootstrap" gets 0755, others 0644.
export function storedZip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  // 1980-01-01 00:00:00 in DOS form: stable bytes for equal inputs.
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    const nameBuf = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const mode = name === "bootstrap" ? 0o100755 : 0o100644;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); // local file header signature
    local.writeUInt16LE(10, 4); // version needed: 1.0 (stored)
    local.writeUInt16LE(0x0800, 6); // flags: UTF-8 names
    local.writeUInt16LE(0, 8); // method: stored
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); // compressed size
    local.writeUInt32LE(data.length, 22); // uncompressed size
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    locals.push(local, nameBuf, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); // central directory signature
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, zip 2.0
    central.writeUInt16LE(10, 6); // version needed
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt16LE(0, 30); // extra length
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk number start
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE((mode << 16) >>> 0, 38); // external attributes: Unix mode
    central.writeUInt32LE(offset, 42); // local header offset
    centrals.push(central, nameBuf);

    offset += local.length + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); // end of central directory signature
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, end]);
}

// bootstrapZip is a deployment package whose executable bootstrap says tag.
export function bootstrapZip(tag) {
  return storedZip({ bootstrap: `#!/bin/sh\necho ${tag}\n`, "README.txt": `package ${tag}\n` });
}

// rejects runs fn, expecting an AWS service error, and returns it.
export async function rejects(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

// assertError checks a service error as a JS caller sees it: the SDK's
// named exception, the HTTP status, the message (exact, or a RegExp) and a
// request id.
export function assertError(e, name, status, message) {
  assert.ok(e instanceof LambdaServiceException, `not a service exception: ${e?.stack ?? e}`);
  assert.equal(e.name, name);
  assert.equal(e.$metadata.httpStatusCode, status);
  if (message instanceof RegExp) assert.match(e.message, message);
  else assert.equal(e.message, message);
  assert.match(e.$metadata.requestId ?? "", /^[0-9a-f-]{36}$/, "x-amzn-RequestId");
}

// waitActive polls until the function's State is Active (CreateFunction
// answers Pending) and returns its configuration.
export async function waitActive(lambda, name) {
  for (let i = 0; i < 100; i++) {
    const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    if (c.State === "Active") return c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} never became Active`);
}

// createFunction creates a function (Role defaults to ROLE) and waits until
// it is Active.
export async function createFunction(lambda, input) {
  await lambda.send(new CreateFunctionCommand({ Role: ROLE, ...input }));
  return waitActive(lambda, input.FunctionName);
}

let echo;
// echoZip is the Go echo test function's package (an unmodified
// aws-lambda-go program the Go harness builds: LAMBADA_ECHO_ZIP).
export function echoZip() {
  if (!echo) {
    const path = process.env.LAMBADA_ECHO_ZIP;
    if (!path) throw new Error("LAMBADA_ECHO_ZIP is not set: run this suite through `go test ./conformance/`");
    echo = readFileSync(path);
  }
  return echo;
}

// createEcho creates the echo function as name (extra overrides members).
export function createEcho(lambda, name, extra = {}) {
  return createFunction(lambda, {
    FunctionName: name,
    Runtime: "provided.al2023",
    Handler: "bootstrap",
    Code: { ZipFile: echoZip() },
    ...extra,
  });
}
