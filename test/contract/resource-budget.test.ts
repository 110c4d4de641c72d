import { HOME_TEMPLATE, packagedTemplate, resourcesOf } from '../support/templates';

/**
 * CloudFormation refuses a template of more than 500 resources. The home stack grows with every
 * rule (function, version, log group, role, queue, alarms): keep a margin for the next rules, in
 * both home deployments scripts/template-check.sh packages (single account, and organisation, which
 * adds what Condition IsOrganisation guards).
 */
const BUDGET = 460;

describe('the home stack stays within its resource budget', () => {
  it.each([
    ['single account', HOME_TEMPLATE],
    ['organisation', packagedTemplate('serverless-organisation')],
  ])(`%s: at most ${BUDGET} resources`, (_deployment, path) => {
    // Prepare
    const count = Object.keys(resourcesOf(path)).length;
    // Assess
    expect(count).toBeLessThanOrEqual(BUDGET);
  });
});
