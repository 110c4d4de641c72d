/**
 * The rules' part of the stack, generated from the registry (shared/rules) by scripts/lib/deployment.ts:
 * serverless.yml includes `${file(./scripts/serverless/rules.cjs):functions}`, `:resources` and
 * `:environment`, and serverless resolves the variables in them. Nothing here is written by hand.
 */
const { require: requireTypeScript } = require('tsx/cjs/api');

const { deployment } = requireTypeScript('../lib/deployment.ts', __filename);

module.exports = deployment();
