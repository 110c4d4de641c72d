/**
 * serverless-esbuild's configuration (serverless.yml, custom.esbuild.config): the options
 * `npm run build` uses too, from scripts/lib/esbuild-options.ts, so the bundle tested locally is the
 * bundle deployed.
 */
const { require: requireTypeScript } = require('tsx/cjs/api');

const { options } = requireTypeScript('./scripts/lib/esbuild-options.ts', __filename);

module.exports = () => ({ ...options, exclude: [], packager: 'npm' });
module.exports.options = options;
