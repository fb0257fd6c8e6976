// A .js file that is an ES module because package.json says "type": "module".
export const handler = async () => ({ kind: 'type-module', hasRequire: typeof require !== 'undefined' });
