import {
  DescribeRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  TagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import { cloudTrailEvent, humanCaller } from '../../../scripts/lib/events';
import { seedStackRouting } from '../../support/self-protection';
import { sentinelTags } from '../bounds';
import { ACCOUNT, REGION, type Scenario, sweep } from '../scenario';

const events = () => new EventBridgeClient({ region: REGION });
/** The name local provisioning gives the stack (test/integration/self-protection.test.ts). */
const STACK = 'compliance-responder-local';

export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    // One of the responder's own EventBridge rules disabled by a person (not the deploy role).
    const { ruleName } = await seedStackRouting(STACK, REGION);
    const routed = await events().send(new DescribeRuleCommand({ Name: ruleName }));
    await events().send(new TagResourceCommand({ ResourceARN: String(routed.Arn), Tags: sentinelTags }));
    await events().send(new DisableRuleCommand({ Name: ruleName }));
    return {
      event: cloudTrailEvent({
        eventName: 'DisableRule',
        eventSource: 'events.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT),
        requestParameters: { name: ruleName },
      }),
      sweep: sweep(),
      compliant: async () =>
        (await events().send(new DescribeRuleCommand({ Name: ruleName }))).State === 'ENABLED',
      kept: async () => (await events().send(new DescribeRuleCommand({ Name: ruleName }))).Arn !== undefined,
    };
  },
};
