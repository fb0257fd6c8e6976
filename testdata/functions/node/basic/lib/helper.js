exports.name = () => 'helper';
