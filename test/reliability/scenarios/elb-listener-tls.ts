import { AddTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { addListener, createLoadBalancer, elbv2, listener, listenerCall } from '../../support/load-balancers';
import { SENTINEL, sentinelTags } from '../bounds';
import { REGION, type Scenario, sweep } from '../scenario';

const STRONG = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

/** An ALB whose HTTPS listener is on the API default policy and whose HTTP listener serves plain HTTP. */
export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const alb = await createLoadBalancer('ward7');
    await elbv2(REGION).send(
      new AddTagsCommand({
        ResourceArns: [alb.arn],
        Tags: [...sentinelTags, { Key: 'note', Value: SENTINEL }],
      }),
    );
    const https = await addListener(alb, 'HTTPS', 443);
    const http = await addListener(alb, 'HTTP', 80);
    return {
      event: listenerCall('CreateListener', { loadBalancerArn: alb.arn }, REGION),
      sweep: sweep(),
      compliant: async () =>
        (await listener(REGION, https))?.SslPolicy === STRONG &&
        (await listener(REGION, http))?.DefaultActions?.[0]?.Type === 'redirect',
      // Never a deleted listener: both are still there.
      kept: async () =>
        (await listener(REGION, https)) !== undefined && (await listener(REGION, http)) !== undefined,
    };
  },
};
