// A .cjs module.
module.exports.handler = async () => ({ kind: 'cjs', hasRequire: typeof require !== 'undefined' });
