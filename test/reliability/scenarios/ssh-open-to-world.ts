import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { authorize, authorizeCall, createGroup, ingressRules, ssh } from '../../support/ssh';
import { SENTINEL, sentinelTags } from '../bounds';
import { MAX_ATTEMPTS, REGION, type Scenario, sweep } from '../scenario';

export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const groupId = await createGroup(REGION, 'bastion', `${SENTINEL} jump host for ward 7`);
    await new EC2Client({ region: REGION }).send(
      new CreateTagsCommand({ Resources: [groupId], Tags: sentinelTags }),
    );
    await authorize(REGION, groupId, [ssh('0.0.0.0/0'), ssh('203.0.113.7/32', 'office')]);
    return {
      event: authorizeCall(REGION, groupId),
      sweep: sweep(),
      compliant: async () =>
        !(await ingressRules(REGION, groupId)).some((rule) => rule.CidrIpv4 === '0.0.0.0/0'),
      // The office rule is not the drift: it must survive the remediation.
      kept: async () =>
        (await ingressRules(REGION, groupId)).some((rule) => rule.CidrIpv4 === '203.0.113.7/32'),
    };
  },
  regressions: [
    // Once the incident read before the alert (failing through every retry, it left a remediated
    // incident that paged nobody: fixed in notify.ts resumeAlert); issue 21's journal no longer
    // reads it. Now: the one batched read a delivery decides on, failing through every retry.
    { action: 'dynamodb:BatchGetItem', nth: 1, kind: 'reset', times: MAX_ATTEMPTS },
  ],
};
