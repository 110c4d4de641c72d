import type { Scenario } from '../scenario';

/**
 * The reliability suite's scenario for elb-backend-encrypted (test/reliability/scenario.ts says the shape): seed in
 * moto the drift the rule finds, the way its integration test does, and return it with `notifyOnly`
 * (a notify-only rule: nothing may change) or a full `Drift` (a rule that remediates). Every fault
 * the suite injects then runs against it, and a function that loses the drift, pages twice or
 * changes AWS in notify mode fails.
 */
export const scenario: Scenario = {
  // TODO: storage-tenancy or access-audit (the two fault-suite halves: pick the shorter one).
  family: 'access-audit',
  async seed() {
    // TODO(elb-backend-encrypted): create the drift in moto and return notifyOnly(theEvent, readsCompliant), e.g.
    //   const groupId = await openSomethingInMoto();
    //   return notifyOnly(cloudTrailEvent({ eventName, eventSource, region: REGION, caller: humanCaller(ACCOUNT),
    //     requestParameters: { groupId } }), async () => false);
    throw new Error(
      'TODO(elb-backend-encrypted): test/reliability/scenarios/elb-backend-encrypted.ts seeds no drift yet',
    );
  },
};
