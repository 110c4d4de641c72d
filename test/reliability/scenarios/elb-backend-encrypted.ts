import { AddTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  addListener,
  createLoadBalancer,
  elbv2,
  listenerCall,
  targetGroupProtocol,
} from '../../support/load-balancers';
import { SENTINEL, sentinelTags } from '../bounds';
import { notifyOnly, REGION, type Scenario } from '../scenario';

/** An ALB whose HTTPS front end forwards to a target group over plain HTTP: notified, never changed. */
export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const alb = await createLoadBalancer('ward7-backend');
    await elbv2(REGION).send(
      new AddTagsCommand({
        ResourceArns: [alb.arn],
        Tags: [...sentinelTags, { Key: 'note', Value: SENTINEL }],
      }),
    );
    await addListener(alb, 'HTTPS', 443, { policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' });
    return notifyOnly(
      listenerCall('CreateListener', { loadBalancerArn: alb.arn }, REGION),
      async () => (await targetGroupProtocol(REGION, alb.targetGroupArn)) === 'HTTPS',
    );
  },
};
