// Response streaming handlers (awslambda.streamifyResponse) and a plain one.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let calls = 0;

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  calls++;
  switch (event.op) {
    case 'chunks':
      responseStream.setContentType('text/plain');
      for (let i = 0; i < event.n; i++) {
        responseStream.write(`chunk-${i};`);
        if (i < event.n - 1) await sleep(event.ms || 0);
      }
      responseStream.end();
      return;
    case 'fail':
      responseStream.write('partial;');
      await sleep(50);
      throw new Error('mid-stream failure');
    case 'uncaught':
      console.log('pid', process.pid);
      responseStream.write('before;');
      setTimeout(() => {
        throw new TypeError('timer crash');
      }, 20);
      await sleep(500);
      responseStream.end('not reached');
      return;
    case 'count':
      responseStream.end(JSON.stringify({ calls, pid: process.pid }));
      return;
    case 'failEarly': {
      const e = new RangeError('nothing written');
      throw e;
    }
    case 'http': {
      const s = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 201,
        headers: { 'x-custom': 'yes' },
      });
      s.write('hello ');
      s.end('http');
      return;
    }
    case 'pipeline':
      await pipeline(Readable.from(['a', 'b', 'c']), responseStream);
      return;
    case 'empty':
      responseStream.end();
      return;
    case 'endData':
      responseStream.end('only-end');
      return;
    case 'late':
      responseStream.write('x');
      try {
        responseStream.setContentType('text/html');
      } catch (e) {
        responseStream.end(`;${e.name}: ${e.message}`);
      }
      return;
    case 'context':
      console.log('streaming', context.awsRequestId);
      responseStream.end(
        JSON.stringify({
          id: context.awsRequestId,
          fn: context.functionName,
          waits: context.callbackWaitsForEmptyEventLoop,
          remaining: context.getRemainingTimeInMillis() > 0,
          calls,
        }),
      );
      return;
    default:
      responseStream.end(`unknown ${event.op}`);
  }
});

// A plain (non-streaming) handler, invoked through either API.
export const plain = async (event) => ({ plain: true, event });
