// Throws while loading.
console.log('loading initthrow');
class ConfigError extends Error {}
ConfigError.prototype.name = 'ConfigError';
throw new ConfigError('missing setting DB_URL');
