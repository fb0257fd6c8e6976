// A CommonJS function exercising the Node.js programming model: async and
// callback handlers, context, console, errors, module state.
'use strict';

const helper = require('./lib/helper');

let loads = (globalThis.__loads = (globalThis.__loads || 0) + 1);
let counter = 0;
let timerFired = 0;
console.log('module loaded', loads);

class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
    this.field = 'email';
  }
}

exports.handler = async (event, context) => {
  switch (event.op) {
    case 'echo':
      return event;
    case 'count':
      counter++;
      return { counter, loads, pid: process.pid };
    case 'context':
      return {
        awsRequestId: context.awsRequestId,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        invokedFunctionArn: context.invokedFunctionArn,
        memoryLimitInMB: context.memoryLimitInMB,
        memoryType: typeof context.memoryLimitInMB,
        logGroupName: context.logGroupName,
        logStreamName: context.logStreamName,
        remaining: context.getRemainingTimeInMillis(),
        clientContext: context.clientContext,
        clientContextType: typeof context.clientContext,
        identityType: typeof context.identity,
        callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
        traceId: process.env._X_AMZN_TRACE_ID,
        json: JSON.parse(JSON.stringify(context)),
        helper: helper.name(),
        cwd: process.cwd(),
        taskRoot: process.env.LAMBDA_TASK_ROOT,
      };
    case 'log':
      console.log('hello %s', 'world', 42);
      console.info('info line');
      console.warn('warn line');
      console.error('error line');
      console.debug('debug line');
      console.trace('trace line');
      console.log('first\nsecond');
      console.log({ a: 1 });
      return context.awsRequestId;
    case 'throw':
      throw new Error(event.msg);
    case 'throwCustom':
      throw new ValidationError(event.msg);
    case 'throwString':
      throw 'just a string';
    case 'throwObject':
      throw { code: 42 };
    case 'undefined':
      return undefined;
    case 'circular': {
      const o = {};
      o.self = o;
      return o;
    }
    case 'reject':
      console.log('pid', process.pid);
      Promise.reject(new Error('nobody catches this'));
      await new Promise((r) => setTimeout(r, 200));
      return 'not reached';
    case 'uncaught':
      console.log('pid', process.pid);
      setTimeout(() => {
        throw new TypeError('thrown from a timer');
      }, 10);
      await new Promise((r) => setTimeout(r, 200));
      return 'not reached';
    case 'never':
      return new Promise(() => {});
    case 'timerFired':
      return timerFired;
    case 'big':
      return 'x'.repeat(event.n);
    case 'later':
      // Crashes after the response went out, between invocations.
      setTimeout(() => {
        throw new Error('crash while idle');
      }, 100);
      return { pid: process.pid };
    default:
      return { unknown: event.op };
  }
};

// callback handles callback-style operations.
exports.callback = function (event, context, callback) {
  switch (event.op) {
    case 'wait':
      if (event.wait === false) context.callbackWaitsForEmptyEventLoop = false;
      setTimeout(() => {
        timerFired++;
        console.log('timer fired');
      }, event.ms || 300);
      callback(null, { timerFiredAtCallback: timerFired, waits: context.callbackWaitsForEmptyEventLoop });
      return;
    case 'error':
      callback(new Error('callback failure'));
      return;
    case 'succeed':
      context.succeed({ via: 'succeed' });
      return;
    case 'fail':
      context.fail(new Error('fail failure'));
      return;
    case 'done':
      context.done(null, { via: 'done' });
      return;
    case 'twice':
      callback(null, 'first');
      callback(null, 'second');
      return;
    case 'none':
      return 'ignored';
    case 'timerFired':
      callback(null, timerFired);
      return;
    default:
      callback(null, { unknown: event.op });
  }
};

// Handler paths may name nested exports: index.nested.deep.fn.
exports.nested = { deep: { fn: async () => 'deep' } };

exports.notAFunction = 42;
