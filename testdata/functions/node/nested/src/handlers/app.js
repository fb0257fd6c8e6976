// A handler in a subfolder: handler string src/handlers/app.main.
const path = require('path');
exports.main = async () => ({ kind: 'nested', hasRequire: typeof require !== 'undefined', file: path.relative(process.cwd(), __filename) });
