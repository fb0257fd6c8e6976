// A syntax error: the module cannot load.
exports.handler = async () => {
  return { broken: true
};
