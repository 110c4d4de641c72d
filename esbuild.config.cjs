/**
 * The one set of esbuild options, used by `npm run build` (scripts/build.ts) and by
 * serverless-esbuild for `serverless package`, so the bundle tested locally is the bundle deployed.
 * SDK v3 is bundled (not taken from the runtime), CommonJS, node20 so one file runs on Node 20 and
 * on the nodejs22.x runtime.
 */
const options = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: false,
  keepNames: true,
  legalComments: 'none',
  external: [],
};

module.exports = () => ({ ...options, exclude: [], packager: 'npm' });
module.exports.options = options;
