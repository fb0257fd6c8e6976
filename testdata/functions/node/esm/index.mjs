// An ES module handler.
import { readFileSync } from 'node:fs';

const started = Date.now();
let calls = 0;

export const handler = async (event, context) => {
  calls++;
  return {
    kind: 'esm',
    calls,
    hasRequire: typeof require !== 'undefined',
    url: import.meta.url.startsWith('file://'),
    id: context.awsRequestId,
    version: process.version,
    started: started > 0,
    self: readFileSync(new URL(import.meta.url)).length > 0,
  };
};
