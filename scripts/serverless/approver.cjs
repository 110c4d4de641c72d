/**
 * The home approver role's grant statements, generated from what a grant declares
 * (shared/ssh/grant-actions.ts): serverless.yml includes `${file(./scripts/serverless/approver.cjs):grantStatements}`
 * as ApproverRole's `ssh-grant` policy, and serverless resolves the grant tag's parameter in it.
 * Nothing here is written by hand; test/contract/member.test.ts checks the packaged result.
 */
const { require: requireTypeScript } = require('tsx/cjs/api');

const { homeGrantStatements } = requireTypeScript('../../shared/ssh/grant-actions.ts', __filename);
const { policyStatement } = requireTypeScript('../lib/deployment.ts', __filename);

module.exports = {
  // serverless resolves the variable in what the file gives it, as in rules.cjs's environment.
  grantStatements: homeGrantStatements(`\${param:sshGrantTag}`).map(policyStatement),
};
