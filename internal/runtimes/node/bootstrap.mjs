// lambada's Node.js runtime client: loads the function's handler and serves
// invocations over the Lambda Runtime API (2018-06-01), behaving like AWS's
// own Node.js runtime (aws-lambda-nodejs-runtime-interface-client): the same
// handler resolution, context object, console format, error documents,
// callback / async / streaming programming models.
//
// Started as `node <dir>/bootstrap.mjs` with the working directory at
// LAMBDA_TASK_ROOT and _HANDLER, AWS_LAMBDA_RUNTIME_API in the environment.
// Node.js standard library only.

import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { Writable } from 'node:stream';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// Errors

// Runtime error classes are named Runtime.<Class> as on AWS.
function runtimeErrorClass(name, base = Error) {
  const C = { [name]: class extends base {} }[name];
  C.prototype.name = `Runtime.${name}`;
  return C;
}

const ImportModuleError = runtimeErrorClass('ImportModuleError');
const HandlerNotFound = runtimeErrorClass('HandlerNotFound');
const MalformedHandlerName = runtimeErrorClass('MalformedHandlerName');
const UserCodeSyntaxError = runtimeErrorClass('UserCodeSyntaxError');
const MalformedStreamingHandler = runtimeErrorClass('MalformedStreamingHandler');
const InvalidStreamingOperation = runtimeErrorClass('InvalidStreamingOperation');

class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
NodeJsExit.prototype.name = 'Runtime.NodeJsExit';

class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    let message;
    try {
      message = reason === undefined ? undefined : String(reason);
    } catch {
      message = util.inspect(reason);
    }
    super(message);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

function isErrorLike(v) {
  return (
    v &&
    typeof v.name === 'string' && v.name &&
    typeof v.message === 'string' && v.message &&
    typeof v.stack === 'string' && v.stack
  );
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// errorDocument is what goes to /error, /init/error and the stream's error
// trailer: {errorType, errorMessage, trace}.
function errorDocument(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name?.replaceAll('\x7F', '%7F'),
        errorMessage: error.message?.replaceAll('\x7F', '%7F'),
        trace: typeof error.stack === 'string' ? error.stack.replaceAll('\x7F', '%7F').split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

// formatError renders an error for the log as AWS does: a tab, then JSON
// with errorType, errorMessage, code, the enumerable properties and stack
// (as lines).
function formatError(error) {
  const withProps = (_k, v) => {
    if (v instanceof Error) {
      const ret = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
      if (typeof v.stack === 'string') ret.stack = v.stack.split('\n');
      return ret;
    }
    return v;
  };
  try {
    return '\t' + JSON.stringify(error, withProps);
  } catch {
    return '\t' + JSON.stringify(errorDocument(error));
  }
}

// xrayCause is the Lambda-Runtime-Function-XRay-Error-Cause document.
function xrayCause(err) {
  try {
    const stack = [];
    if (err && typeof err.stack === 'string') {
      const lines = err.stack.replace(/\x7F/g, '%7F').split('\n');
      lines.shift();
      for (const raw of lines) {
        let line = raw.trim().replace(/\(|\)/g, '');
        line = line.substring(line.indexOf(' ') + 1);
        const label = line.lastIndexOf(' ') >= 0 ? line.slice(0, line.lastIndexOf(' ')) : null;
        const p = (label ? line.slice(line.lastIndexOf(' ') + 1) : line).split(':');
        stack.push({ path: p[0], line: parseInt(p[1]), label: label || 'anonymous' });
      }
    }
    return JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [{ type: err?.name?.replace(/\x7F/g, '%7F'), message: err?.message?.replace(/\x7F/g, '%7F'), stack }],
      paths: [...new Set(stack.map((s) => s.path))],
    });
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------
// Console: `<ISO time>\t<request id>\t<LEVEL>\t<message>`, newlines inside
// a message become '\r' so each entry stays one line.

let currentRequestId; // undefined until the first invocation, as on AWS
let currentTenantId;

const LEVELS = {
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
};

function writeLog(level, message, ...params) {
  const line = `${new Date().toISOString()}\t${currentRequestId}\t${level.name}\t${util.format(message, ...params)}`;
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

function writeJsonLog(level, message, ...params) {
  const entry = { timestamp: new Date().toISOString(), level: level.name, requestId: currentRequestId };
  if (currentTenantId != null) entry.tenantId = currentTenantId;
  let line;
  const errReplacer = (_k, v) => {
    if (v instanceof Error) {
      return Object.assign(
        {
          errorType: v?.constructor?.name ?? 'UnknownError',
          errorMessage: v.message,
          stackTrace: typeof v.stack === 'string' ? v.stack.split('\n') : v.stack,
        },
        v,
      );
    }
    return v;
  };
  if (params.length === 0) {
    entry.message = message;
    try {
      line = JSON.stringify(entry, errReplacer);
    } catch {
      entry.message = util.format(message);
      line = JSON.stringify(entry);
    }
  } else {
    entry.message = util.format(message, ...params);
    for (const p of [message, ...params]) {
      if (p instanceof Error) {
        entry.errorType = p?.constructor?.name ?? 'UnknownError';
        entry.errorMessage = p.message;
        entry.stackTrace = typeof p.stack === 'string' ? p.stack.split('\n') : [];
        break;
      }
    }
    line = JSON.stringify(entry);
  }
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

// logError writes "<title> \t{json}" at ERROR level (the "Invoke Error",
// "Uncaught Exception" and "Unhandled Promise Rejection" lines).
let logError = (title, err) => console.error(title, formatError(intoError(err)));

function patchConsole() {
  const json = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';
  const log = json ? writeJsonLog : writeLog;
  const min = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const at = (level) => (level.priority >= min.priority ? (msg, ...params) => log(level, msg, ...params) : () => {});
  console.trace = at(LEVELS.TRACE);
  console.debug = at(LEVELS.DEBUG);
  console.info = at(LEVELS.INFO);
  console.log = console.info;
  console.warn = at(LEVELS.WARN);
  console.error = at(LEVELS.ERROR);
  console.fatal = (msg, ...params) => log(LEVELS.FATAL, msg, ...params);
  if (json) logError = (_title, err) => console.error(intoError(err));
}

// ---------------------------------------------------------------------------
// Runtime API client: one keep-alive connection for next and the results.

const ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY = 'Lambda-Runtime-Function-Error-Body';
const XRAY_CAUSE = 'Lambda-Runtime-Function-XRay-Error-Cause';
const validHeaderValue = (v) => typeof v === 'string' && !/[^\t\x20-\x7e\x80-\xff]/.test(v);

// Conn is one HTTP/1.1 keep-alive connection to the Runtime API, spoken
// directly over a socket: http.request's machinery costs about as much as
// the rest of a warm invocation (AWS's own Node.js runtime client uses a
// native addon for the same reason). Requests are answered in order. The
// socket holds the event loop open only while a request is in flight:
// callbackWaitsForEmptyEventLoop watches for the loop to empty.
class Conn {
  constructor(hostname, port) {
    this.hostname = hostname;
    this.port = port;
    this.socket = null;
    this.used = false; // a response came back on this socket
    this.pending = []; // {resolve, fail}
  }

  open() {
    const socket = net.connect({ host: this.hostname, port: this.port, noDelay: true });
    this.socket = socket;
    this.used = false;
    this.buf = Buffer.alloc(0);
    this.chunks = [];
    this.len = 0;
    this.need = 0; // bytes the response being read needs, when known
    socket.on('data', (d) => {
      // Bytes are only joined once a whole response is there: a 6 MB
      // event arrives in ~100 reads.
      this.chunks.push(d);
      this.len += d.length;
      if (this.len < this.need) return;
      this.buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [this.buf];
      this.parse();
    });
    const gone = (err) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const pending = this.pending;
      this.pending = [];
      for (const p of pending) p.fail(err || Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
  }

  // request resolves {status, headers, body}. Sent on a reused socket the
  // server had already closed, it is sent once more on a new one.
  request(method, urlPath, headers, body, retry = true) {
    return new Promise((resolve, reject) => {
      if (!this.socket) this.open();
      const reused = this.used;
      const entry = {
        resolve,
        fail: (err) => {
          if (retry && reused && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
            this.request(method, urlPath, headers, body, false).then(resolve, reject);
          } else {
            reject(err);
          }
        },
      };
      this.pending.push(entry);
      this.socket.ref();
      let head = `${method} ${urlPath} HTTP/1.1\r\nHost: ${this.hostname}:${this.port}\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
      head += '\r\n';
      const h = Buffer.from(head, 'latin1');
      this.socket.write(body !== undefined && body.length ? Buffer.concat([h, body]) : h);
    });
  }

  // parse takes complete responses off the buffer, in order.
  parse() {
    while (this.pending.length) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.buf.toString('latin1', 0, end).split('\r\n');
      const status = parseInt(lines[0].split(' ')[1], 10);
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const c = lines[i].indexOf(':');
        if (c > 0) headers[lines[i].slice(0, c).trim().toLowerCase()] = lines[i].slice(c + 1).trim();
      }
      let body, rest;
      if ((headers['transfer-encoding'] || '').toLowerCase() === 'chunked') {
        const r = dechunk(this.buf, end + 4);
        if (!r) return;
        [body, rest] = r;
      } else {
        const len = parseInt(headers['content-length'] || '0', 10);
        if (this.buf.length < end + 4 + len) {
          this.need = end + 4 + len;
          return;
        }
        body = Buffer.from(this.buf.subarray(end + 4, end + 4 + len));
        rest = end + 4 + len;
      }
      this.buf = this.buf.subarray(rest);
      this.chunks = [this.buf];
      this.len = this.buf.length;
      this.need = 0;
      this.used = true;
      const p = this.pending.shift();
      if ((headers.connection || '').toLowerCase() === 'close') {
        const socket = this.socket;
        this.socket = null;
        socket.destroy();
        // Anything sent after it is lost with the socket.
        for (const q of this.pending.splice(0)) q.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      } else if (!this.pending.length) {
        this.socket.unref();
      }
      p.resolve({ status, headers, body });
    }
  }

  close() {
    if (this.socket) this.socket.destroy();
  }
}

// dechunk decodes a chunked body starting at off: [body, end offset], or
// null while it is incomplete.
function dechunk(buf, off) {
  const parts = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return null;
    const n = parseInt(buf.toString('latin1', off, eol).split(';')[0], 16);
    if (Number.isNaN(n)) throw new Error('Runtime API: bad chunk size');
    off = eol + 2;
    if (n === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const e = buf.indexOf('\r\n', off);
        if (e < 0) return null;
        const empty = e === off;
        off = e + 2;
        if (empty) return [Buffer.concat(parts), off];
      }
    }
    if (buf.length < off + n + 2) return null;
    parts.push(buf.subarray(off, off + n));
    off += n + 2;
  }
}

class RuntimeClient {
  constructor(hostPort) {
    if (!hostPort) throw new Error('AWS_LAMBDA_RUNTIME_API is not set');
    const i = hostPort.lastIndexOf(':');
    this.hostname = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
    this.port = parseInt(hostPort.slice(i + 1), 10);
    this.conn = new Conn(this.hostname, this.port);
    // Streamed responses go through node:http (chunked, trailers).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  // request sends one request and resolves {status, headers, body}; fresh
  // uses a connection of its own, for a dying process's last report.
  async request(method, urlPath, headers, body, { fresh = false } = {}) {
    if (!fresh) return this.conn.request(method, urlPath, headers, body);
    const c = new Conn(this.hostname, this.port);
    try {
      return await c.request(method, urlPath, headers, body, false);
    } finally {
      c.close();
    }
  }

  async next() {
    const res = await this.request('GET', '/2018-06-01/runtime/invocation/next', {});
    if (res.status !== 200) {
      throw new Error(`Runtime API next: HTTP ${res.status} ${res.body.toString()}`);
    }
    return { body: res.body.toString('utf8'), headers: res.headers };
  }

  async post(urlPath, bodyString, headers, opts) {
    const body = Buffer.from(bodyString, 'utf8');
    const res = await this.request('POST', urlPath, { 'Content-Type': 'application/json', ...headers }, body, opts);
    // 413 is the caller's Function.ResponseSizeTooLarge: nothing to add.
    if (res.status !== 202 && res.status !== 413) {
      process.stderr.write(`lambada runtime: POST ${urlPath}: HTTP ${res.status} ${res.body.toString()}\n`);
    }
    return res;
  }

  postResponse(id, bodyString) {
    return this.post(`/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`, bodyString, {});
  }

  postError(id, error, opts) {
    const doc = errorDocument(error);
    const headers = {};
    const cause = xrayCause(error);
    if (cause && validHeaderValue(cause)) headers[XRAY_CAUSE] = cause;
    return this.post(
      `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/error`,
      JSON.stringify(doc),
      headers,
      opts,
    );
  }

  postInitError(error, opts) {
    const doc = errorDocument(error);
    const headers = {};
    if (validHeaderValue(doc.errorType)) headers[ERROR_TYPE] = doc.errorType;
    return this.post('/2018-06-01/runtime/init/error', JSON.stringify(doc), headers, opts);
  }

  // streamRequest opens a streamed POST /response; headers go out with the
  // first write.
  streamRequest(id) {
    let resolve, reject;
    const done = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    const req = http.request({
      hostname: this.hostname,
      port: this.port,
      method: 'POST',
      path: `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`,
      agent: this.agent,
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: `${ERROR_TYPE}, ${ERROR_BODY}`,
        'Content-Type': 'application/octet-stream',
      },
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        if (res.statusCode !== 202 && res.statusCode !== 413) {
          process.stderr.write(`lambada runtime: streamed response: HTTP ${res.statusCode} ${body.toString()}\n`);
        }
        resolve({ status: res.statusCode, body });
      });
      res.on('aborted', () => reject(new Error('Runtime API response aborted')));
    });
    req.on('error', reject);
    return { req, done };
  }
}

function serialize(result) {
  let s;
  try {
    s = JSON.stringify(result === undefined ? null : result);
  } catch {
    throw new Error('Unable to stringify response body');
  }
  return s === undefined ? 'null' : s;
}

// ---------------------------------------------------------------------------
// Response streaming: awslambda.streamifyResponse / HttpResponseStream.

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(8)); // the 8 NUL bytes after the JSON prelude
    };
    return underlyingStream;
  }
}

// ResponseStream is the writable a streaming handler gets: every write goes
// out as an HTTP chunk of the POST /response; a failure ends the body with
// the error trailers.
class ResponseStream extends Writable {
  constructor(client, id, highWaterMark) {
    super(highWaterMark ? { highWaterMark } : {});
    const { req, done } = client.streamRequest(id);
    this._req = req;
    this._started = false;
    this._trailers = undefined;
    this._onBeforeFirstWrite = undefined;
    this.responseDone = done;
    // Errors surface through the handler or _destroy, never as an
    // uncaught 'error' event.
    this.on('error', () => {});
    done.catch(() => {});
  }

  setContentType(contentType) {
    if (this._started) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    this._req.setHeader('Content-Type', contentType);
  }

  write(chunk, encoding, callback) {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) chunk = JSON.stringify(chunk);
    this._started = true;
    return super.write(chunk, encoding, callback);
  }

  // end(chunk) goes through write, so the prelude and the chunk
  // conversion apply to it too.
  end(chunk, encoding, callback) {
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = encoding = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    if (chunk !== undefined && chunk !== null) this.write(chunk, encoding);
    return super.end(callback);
  }

  _prelude() {
    if (this._preluded) return;
    this._preluded = true;
    this._started = true;
    if (typeof this._onBeforeFirstWrite === 'function') this._onBeforeFirstWrite((c) => this._req.write(c));
  }

  _write(chunk, encoding, callback) {
    this._prelude();
    if (chunk.length === 0) return callback();
    this._req.write(chunk, encoding, () => callback());
  }

  _final(callback) {
    this._prelude();
    if (this._trailers) this._req.addTrailers(this._trailers);
    this._req.end(() => callback());
  }

  _destroy(err, callback) {
    if (!this._req.writableEnded) {
      if (err) this._req.addTrailers(errorTrailers(err));
      this._req.end();
    }
    callback(err);
  }

  // fail ends the response with the error trailers (unless it already
  // ended) and resolves once the Runtime API answered.
  fail(err) {
    if (!this._req.writableEnded && !this.destroyed) {
      this._trailers = errorTrailers(err);
      if (!this.writableEnded) super.end();
    }
    return this.responseDone.catch(() => {});
  }
}

function errorTrailers(err) {
  const doc = errorDocument(err);
  let type = String(doc.errorType);
  if (!validHeaderValue(type)) type = type.replace(/[^\t\x20-\x7e]/g, '?');
  return { [ERROR_TYPE]: type, [ERROR_BODY]: Buffer.from(JSON.stringify(doc)).toString('base64') };
}

function installGlobal() {
  const off = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    streamifyResponse: (handler, options) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
      }
      return handler;
    },
    HttpResponseStream,
  };
}

// ---------------------------------------------------------------------------
// Loading the handler: "<dir/>module.path.to.fn" relative to the task root.

function hasPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasPackageJsonTypeModule(path.resolve(folder, '..'));
}

function tryRequire(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImport(file) {
  return fs.existsSync(file) ? await import(pathToFileURL(file).href) : undefined;
}

async function loadModule(appRoot, moduleRoot, module) {
  const base = path.resolve(appRoot, moduleRoot, module);
  // Extensionless files (and folders) are loaded via require.
  const extensionless = tryRequire(base);
  if (extensionless) return extensionless;
  const typeModule = fs.existsSync(base + '.js') && hasPackageJsonTypeModule(path.dirname(base + '.js'));
  if (!typeModule) {
    const cjs = tryRequire(base + '.js');
    if (cjs) return cjs;
  }
  const loaded =
    (typeModule && (await tryImport(base + '.js'))) || (await tryImport(base + '.mjs')) || tryRequire(base + '.cjs');
  if (loaded) return loaded;
  // Fall back to Node's resolution (node_modules, NODE_PATH).
  return require(require.resolve(module, { paths: [appRoot, moduleRoot] }));
}

async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, module, handlerPath] = match;

  installGlobal();
  let app;
  try {
    app = await loadModule(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) throw new ImportModuleError(e);
    throw e;
  }
  const fn = handlerPath.split('.').reduce((o, key) => o && o[key], app);
  if (!fn) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return fn;
}

function handlerMetadata(fn) {
  const s = fn[HANDLER_STREAMING];
  let streaming = false;
  if (s !== undefined && s !== null && s !== false) {
    if (s !== STREAM_RESPONSE) throw new MalformedStreamingHandler('Only response streaming is supported.');
    streaming = STREAM_RESPONSE;
  }
  const hwm = parseInt(fn[HANDLER_HIGHWATERMARK]);
  let isAsync = false;
  try {
    isAsync = fn.constructor?.name === 'AsyncFunction';
  } catch {}
  return { streaming, highWaterMark: isNaN(hwm) ? undefined : hwm, isAsync, argsNum: fn.length };
}

// ---------------------------------------------------------------------------
// The invoke loop.

// The 'beforeExit' listener: how the runtime notices an empty event loop.
let onBeforeExit = () => {};
const setBeforeExit = (fn) => (onBeforeExit = fn);
const resetBeforeExit = () => (onBeforeExit = () => {});

let dying = false;

// fatal reports err as the current phase's failure on a connection of its
// own (a /next may hold the shared one) and exits with code.
let fatal = (err, code) => die(client.postInitError(err, { fresh: true }), code);

function die(posted, code) {
  if (dying) return;
  dying = true;
  const exit = () => process.exit(code);
  setTimeout(exit, 2000);
  Promise.resolve(posted).then(exit, exit);
}

function requestHeaders(h) {
  const get = (k) => h[k];
  return {
    id: get('lambda-runtime-aws-request-id'),
    deadline: get('lambda-runtime-deadline-ms'),
    arn: get('lambda-runtime-invoked-function-arn'),
    trace: get('lambda-runtime-trace-id'),
    clientContext: get('lambda-runtime-client-context'),
    identity: get('lambda-runtime-cognito-identity'),
    tenantId: get('lambda-runtime-aws-tenant-id'),
  };
}

function parseJson(s, name) {
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// attachContext fills the context with the invocation's data and forwards
// the trace id to _X_AMZN_TRACE_ID.
function attachContext(ctx, h) {
  if (h.trace) process.env._X_AMZN_TRACE_ID = h.trace;
  else delete process.env._X_AMZN_TRACE_ID;
  const deadline = h.deadline;
  return Object.assign(
    ctx,
    {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    },
    {
      clientContext: parseJson(h.clientContext, 'ClientContext'),
      identity: parseJson(h.identity, 'CognitoIdentity'),
      invokedFunctionArn: h.arn,
      awsRequestId: h.id,
      tenantId: h.tenantId,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    },
  );
}

const isPromise = (v) => v && typeof v.then === 'function';

// callbackContext builds the callback and the succeed/fail/done part of the
// context; only the first of them counts.
function callbackContext(id, scheduleNext) {
  let completed = false;
  let waitForEmptyEventLoop = true;

  const postError = (err) => {
    logError('Invoke Error', err);
    client.postError(id, err).then(scheduleNext, onClientError);
  };
  const complete = (result) => {
    if (completed) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    completed = true;
    const body = serialize(result); // may throw: reported as the invocation's error
    client.postResponse(id, body).then(scheduleNext, onClientError);
  };

  const callback = (err, result) => {
    resetBeforeExit();
    if (err !== undefined && err !== null) {
      postError(err);
    } else if (!waitForEmptyEventLoop) {
      complete(result);
    } else {
      setBeforeExit(() => {
        resetBeforeExit();
        setImmediate(() => {
          try {
            complete(result);
          } catch (e) {
            postError(e);
          }
        });
      });
    }
  };
  const done = (err, result) => {
    resetBeforeExit();
    if (err !== undefined && err !== null) postError(err);
    else complete(result);
  };

  let finished = false;
  const once = (fn) =>
    function (...args) {
      if (!finished) {
        fn(...args);
        finished = true;
      }
    };
  const ctx = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(v) {
      waitForEmptyEventLoop = v;
    },
    succeed: once((result) => done(null, result)),
    fail: once((err) => (err === undefined || err === null ? done('handled') : done(err, null))),
    done: once(done),
  };
  return { callback: once(callback), ctx, markCompleted: () => (completed = true) };
}

function onClientError(err) {
  process.stderr.write(`lambada runtime: Runtime API: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

class Runtime {
  constructor(handler, metadata) {
    this.handler = handler;
    this.metadata = metadata;
    this.handleOnce = metadata.streaming === STREAM_RESPONSE ? this.handleOnceStreaming : this.handleOnceNonStreaming;
  }

  scheduleIteration() {
    if (dying) return;
    setImmediate(() => {
      this.handleOnce().catch((err) => {
        console.log(`Unexpected Top Level Error: ${err}`);
        fatal(err, 129);
      });
    });
  }

  async next() {
    let inv;
    try {
      inv = await client.next();
    } catch (err) {
      onClientError(err);
    }
    const h = requestHeaders(inv.headers);
    if (!h.id) throw new Error('invocation id is missing or invalid');
    currentRequestId = h.id;
    currentTenantId = h.tenantId;
    return { h, body: inv.body };
  }

  // Crashes while an invocation runs fail that invocation, then the
  // process exits: the next invocation starts cold.
  setFatal(id, stream) {
    fatal = (err, code) => {
      if (stream && !stream._req.writableEnded) die(stream.fail(err), code);
      else die(client.postError(id, err, { fresh: true }), code);
    };
  }

  async handleOnceNonStreaming() {
    const { h, body } = await this.next();
    const scheduleNext = () => this.scheduleIteration();
    const { callback, ctx, markCompleted } = callbackContext(h.id, scheduleNext);
    try {
      this.setFatal(h.id);
      setBeforeExit(() => {
        resetBeforeExit();
        markCompleted();
        if (this.metadata.isAsync) {
          // An async handler whose promise never settled.
          const err = new NodeJsExit();
          logError('Invoke Error', err);
          client.postError(h.id, err).then(scheduleNext, onClientError);
        } else {
          // A handler that neither returned a promise nor called back.
          client.postResponse(h.id, 'null').then(scheduleNext, onClientError);
        }
      });
      const result = this.handler(JSON.parse(body), attachContext(ctx, h), callback);
      if (isPromise(result)) {
        result.then(ctx.succeed, ctx.fail).catch(ctx.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { h, body } = await this.next();
    let waitForEmptyEventLoop = true;
    const sctx = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(v) {
        waitForEmptyEventLoop = v;
      },
    };
    const stream = new ResponseStream(client, h.id, this.metadata.highWaterMark);
    const scheduleNext = () => {
      resetBeforeExit();
      if (!waitForEmptyEventLoop) {
        this.scheduleIteration();
      } else {
        setBeforeExit(() => {
          resetBeforeExit();
          setImmediate(() => this.scheduleIteration());
        });
      }
    };
    const fail = async (err) => {
      logError('Invoke Error', err);
      await stream.fail(err);
      scheduleNext();
    };
    try {
      this.setFatal(h.id, stream);
      setBeforeExit(() => {
        resetBeforeExit();
        this.scheduleIteration();
      });
      const result = this.handler(JSON.parse(body), stream, attachContext(sctx, h));
      if (!isPromise(result)) {
        await fail('Streaming does not support non-async handlers.');
        return;
      }
      if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
      await stream.responseDone;
      scheduleNext();
    } catch (err) {
      await fail(err);
    }
  }
}

// ---------------------------------------------------------------------------
// Start.

patchConsole();
const client = new RuntimeClient(process.env.AWS_LAMBDA_RUNTIME_API);

process.on('uncaughtException', (err) => {
  if (dying) return;
  logError('Uncaught Exception', err);
  fatal(err, 129);
});
process.on('unhandledRejection', (reason, promise) => {
  if (dying) return;
  const err = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', err);
  fatal(err, 128);
});
process.on('beforeExit', () => onBeforeExit());

// ES modules ignore NODE_PATH, yet on AWS a handler's bare imports find
// the packages its layers bring (docs/behaviour/layers.md §6). A resolve
// hook retries a bare specifier Node could not find from the layers'
// node_modules folders: the NODE_PATH entries .../nodejs[/nodeNN]/node_modules
// (under /opt, or where lambada put /opt without a mount namespace).
const LAYER_RESOLVE_HOOK = `
let parents = [];
export function initialize(data) { parents = data.parents; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || /^([./]|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier)) throw e;
    for (const parentURL of parents) {
      try {
        return await next(specifier, { ...context, parentURL });
      } catch {}
    }
    throw e;
  }
}`;

function registerLayerResolution() {
  const dirs = (process.env.NODE_PATH ?? '')
    .split(':')
    .filter((d) => /\/nodejs(\/node\d+)?\/node_modules$/.test(d) && fs.existsSync(d));
  if (dirs.length === 0 || typeof register !== 'function') return;
  const parents = dirs.map((d) => pathToFileURL(path.join(d, 'index.js')).href);
  register('data:text/javascript,' + encodeURIComponent(LAYER_RESOLVE_HOOK), { data: { parents } });
}

const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
let handler, metadata;
try {
  registerLayerResolution();
  handler = await loadHandler(appRoot, process.env._HANDLER ?? '');
  metadata = handlerMetadata(handler);
} catch (err) {
  logError('Uncaught Exception', err);
  fatal(err, 129);
}
if (handler && !dying) {
  if (
    process.env.AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING === undefined &&
    metadata.argsNum === 3 &&
    !metadata.isAsync &&
    !metadata.streaming
  ) {
    console.warn(
      'AWS Lambda plans to remove support for callback-based function handlers starting with Node.js 24. You will need to update this function to use an async handler to use Node.js 24 or later. For more information and to provide feedback on this change, see https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/issues/137. To disable this warning, set the AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING environment variable.',
    );
  }
  new Runtime(handler, metadata).scheduleIteration();
}
