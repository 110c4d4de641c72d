import { AddTagsCommand } from '@aws-sdk/client-elastic-load-balancing';
import {
  classicCall,
  classicListenerPolicies,
  createClassicLoadBalancer,
  elb,
  setStickyAndNegotiation,
} from '../../support/load-balancers';
import { SENTINEL, sentinelTags } from '../bounds';
import { REGION, type Scenario, sweep } from '../scenario';

const OURS = 'compliance-responder-ELBSecurityPolicy-TLS-1-2-2017-01';

/** A Classic HTTPS listener whose negotiation policy allows TLS 1.0, beside a stickiness policy. */
export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const name = await createClassicLoadBalancer(
      'ward7-classic',
      [{ Protocol: 'HTTPS', LoadBalancerPort: 443, InstanceProtocol: 'HTTPS', InstancePort: 8443 }],
      REGION,
    );
    await elb(REGION).send(
      new AddTagsCommand({
        LoadBalancerNames: [name],
        Tags: [...sentinelTags, { Key: 'note', Value: SENTINEL }],
      }),
    );
    await setStickyAndNegotiation(name, 443, ['TLSv1', 'TLSv1.2'], REGION);
    return {
      event: classicCall('SetLoadBalancerPoliciesOfListener', name, REGION),
      sweep: sweep(),
      compliant: async () => (await classicListenerPolicies(name, 443, REGION))?.includes(OURS) === true,
      // Never a dropped policy: the stickiness policy is still on the listener.
      kept: async () => (await classicListenerPolicies(name, 443, REGION))?.includes('sticky') === true,
    };
  },
};
