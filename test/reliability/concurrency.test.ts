import { cloudTrailEvent, humanCaller } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ingressRules, ssh } from '../support/ssh';
import { writeFigures } from './figures';

const REGION = 'us-east-1';
/**
 * The security-group rules' own concurrency test (not plumbing): ssh-open-to-world's drift delivered
 * many times at once, and both rules judging one group at once, as their shared resource invites.
 */
const WORLD_OPEN = 'ssh-open-to-world';
const UNGRANTED = 'ssh-grant-expired';
/**
 * In this process, each delivery with its own copy of the function (jest.isolateModules): its own SDK
 * clients and connections, as 50 Lambda environments would have. 50 Node processes are too heavy for
 * a 2-CPU CI runner; test/integration runs 20 of them for ebs-encryption-by-default.
 */
const bundle = (name: string) => () => require(`../../functions/${name}`);
const DELIVERIES = 50;
const figures = {
  deliveries: 0,
  remediations: 0,
  incidents: 0,
  alerts: 0,
  duplicates: 0,
  /** The rule whose drift is delivered many times, and the two rules that judge one group at once. */
  rule: WORLD_OPEN,
  pair: [WORLD_OPEN, UNGRANTED],
  pairs: 0,
  pairsRecorded: 0,
};

afterAll(() => writeFigures('concurrency', figures));

describe('concurrent deliveries against moto', () => {
  let responder: LocalResponder;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
  });

  it(`gives ${DELIVERIES} concurrent deliveries of one drift one remediation, one incident and one alert`, async () => {
    // Prepare: the same event redelivered, and other events reporting the same drift
    const group = await createGroup(REGION, 'bastion');
    await authorize(REGION, group, [ssh('0.0.0.0/0')]);
    const event = authorizeCall(REGION, group);
    const deliveries = Array.from({ length: DELIVERIES }, (_, index) =>
      index % 2 === 0 ? event : authorizeCall(REGION, group),
    );
    const handlers = deliveries.map(() => responder.handlerOf(bundle(WORLD_OPEN)));
    // Act
    const calls = await recordCalls(() =>
      Promise.allSettled(deliveries.map((delivery, index) => handlers[index]?.(delivery))),
    );
    // Assess
    const revokes = calls.filter((call) => call.action === 'RevokeSecurityGroupIngress').length;
    const incidents = await responder.incidents();
    const alerts = await responder.alerts();
    Object.assign(figures, {
      deliveries: DELIVERIES,
      remediations: revokes,
      incidents: incidents.length,
      alerts: alerts.length,
      duplicates:
        Math.max(0, revokes - 1) + Math.max(0, incidents.length - 1) + Math.max(0, alerts.length - 1),
    });
    expect(revokes).toBe(1);
    expect(incidents.map((incident) => incident.status)).toEqual(['remediated']);
    expect(alerts.map((alert) => alert.body.incidentId)).toEqual([incidents[0]?.incidentId]);
    expect(calls.filter((call) => call.action === 'Publish')).toHaveLength(1);
    expect((await ingressRules(REGION, group)).filter((rule) => rule.CidrIpv4 === '0.0.0.0/0')).toEqual([]);
  });

  it('records both of two different drifts on one security group handled at once', async () => {
    // Prepare: SSH open to the world (WORLD_OPEN) and an ungranted /32 (UNGRANTED)
    const group = await createGroup(REGION, 'ops');
    await authorize(REGION, group, [ssh('0.0.0.0/0'), ssh('198.51.100.4/32')]);
    const worldOpen = responder.handlerOf(bundle(WORLD_OPEN));
    const ungranted = responder.handlerOf(bundle(UNGRANTED));
    const event = cloudTrailEvent({
      eventName: 'AuthorizeSecurityGroupIngress',
      eventSource: 'ec2.amazonaws.com',
      region: REGION,
      caller: humanCaller(ACCOUNT),
      requestParameters: { groupId: group, ipPermissions: { items: [] } },
      responseElements: { _return: true },
    });
    // Act
    const results: PromiseSettledResult<HandlerResult>[] = await Promise.allSettled([
      worldOpen(event),
      ungranted(event),
    ]);
    // Assess: each rule has its own true incident and alert; the group ends with neither path
    const incidents = await responder.incidents();
    const alerts = await responder.alerts();
    figures.pairs += 1;
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(
      incidents.map((incident) => [incident.ruleId, incident.resourceId, incident.status]).sort(),
    ).toEqual(
      [
        [WORLD_OPEN, group, 'remediated'],
        [UNGRANTED, group, 'remediated'],
      ].sort(),
    );
    expect(alerts.map((alert) => alert.attributes.ruleId).sort()).toEqual([WORLD_OPEN, UNGRANTED].sort());
    expect(await ingressRules(REGION, group)).toEqual([]);
    figures.pairsRecorded += 1;
  });
});
