import { scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import {
  ACCOUNT,
  aGrant,
  authorize,
  authorizeCall,
  createGroup,
  GRANT_TAG,
  ingressRules,
  keyStatuses,
  ledgerOf,
  ssh,
  uploadKeyCall,
  userWithKey,
} from '../support/ssh';

const FUNCTION = 'ssh-grant-expired';
const loadFunction = () => require('../../functions/ssh-grant-expired');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ssh-grant-expired end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;
  let ledger: ReturnType<typeof ledgerOf>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
    ledger = ledgerOf(responder.stack.tableName);
  });

  describe('security-group rules', () => {
    it('keeps a /32 rule while its grant lives, and revokes it once the grant expires: an incident and an alert', async () => {
      // Prepare: a grant that ends in a few seconds, and its tagged rule
      const group = await createGroup('us-east-1', 'bastion');
      const grant = aGrant({ region: 'us-east-1', groupId: group, cidr: '203.0.113.7/32', port: 22 }, 5_000);
      await ledger.record(grant);
      const [ruleId] = await authorize('us-east-1', group, [ssh('203.0.113.7/32')], {
        [GRANT_TAG]: grant.grantId,
      });
      await ledger.attachRule(grant.grantId, String(ruleId));
      // Act: the rule is created (event), then the lockdown runs after the grant has ended
      const whileLive = await handle(authorizeCall('us-east-1', group));
      const keptRules = await ingressRules('us-east-1', group);
      await sleep(Math.max(0, Date.parse(grant.expiresAt) - Date.now()) + 200);
      await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
      // Assess: kept while live
      expect(whileLive.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
      expect(keptRules.map((rule) => rule.SecurityGroupRuleId)).toEqual([ruleId]);
      // Assess: revoked once expired, as an incident naming the grant, with an alert
      expect(await ingressRules('us-east-1', group)).toEqual([]);
      const [incident, ...others] = await responder.incidents();
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        ruleId: FUNCTION,
        hipaa: ['164.312(a)(1)', '164.312(a)(2)(i)', '164.308(a)(4)(ii)(C)'],
        resourceId: group,
        status: 'remediated',
        trigger: { source: 'schedule' },
        evidence: { ungrantedRules: 1, ruleIds: ruleId, grantStatuses: 'expired', grantIds: grant.grantId },
      });
      expect(incident?.reason).toContain(`grant ${grant.grantId} expired at ${grant.expiresAt}`);
      expect(incident?.steps.map((step) => step.action)).toEqual(['RevokeSecurityGroupIngress', 'Verify']);
      expect(incident?.steps[0]?.undo).toMatchObject({
        action: 'AuthorizeSecurityGroupIngress',
        input: { GroupId: group, IpPermissions: [{ IpRanges: [{ CidrIp: '203.0.113.7/32' }] }] },
      });
      const alerts = await responder.alerts();
      expect(alerts.map((alert) => [alert.attributes.ruleId, alert.attributes.status])).toEqual([
        [FUNCTION, 'remediated'],
      ]);
    });

    it('revokes an untagged rule, and one tagged with a grant id the ledger does not hold, as soon as they appear', async () => {
      // Prepare
      const group = await createGroup('us-east-1', 'ops');
      await authorize('us-east-1', group, [ssh('198.51.100.4/32')]);
      await authorize('us-east-1', group, [ssh('198.51.100.5/32')], {
        [GRANT_TAG]: 'sshg-20261123T000000-deadbeef',
      });
      await authorize('us-east-1', group, [ssh('2001:db8::5/128')], { [GRANT_TAG]: 'trust me' });
      // Act
      await handle(authorizeCall('us-east-1', group));
      // Assess
      expect(await ingressRules('us-east-1', group)).toEqual([]);
      expect((await responder.incidents())[0]).toMatchObject({
        status: 'remediated',
        actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
        evidence: { ungrantedRules: 3, grantStatuses: 'untagged,unknown,unknown', grantIds: null },
      });
      expect(JSON.stringify(await responder.incidents())).not.toContain('trust me');
    });

    it('leaves the whole internet to ssh-open-to-world and referenced groups alone', async () => {
      // Prepare
      const group = await createGroup('us-east-1', 'mixed');
      const peer = await createGroup('us-east-1', 'peer');
      await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
      await authorize('us-east-1', group, [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: peer }] }]);
      // Act
      const result = await handle(authorizeCall('us-east-1', group));
      // Assess
      expect(result.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
      expect(await ingressRules('us-east-1', group)).toHaveLength(2);
      expect(await responder.incidents()).toEqual([]);
    });
  });

  describe("IAM users' SSH keys", () => {
    it('keeps an Active key while its grant lives (an upload during the grant included)', async () => {
      // Prepare
      const keyId = await userWithKey('dev-alice', 'Active');
      await ledger.record(aGrant({ userName: 'dev-alice' }, 30 * 60_000));
      // Act
      const result = await handle(uploadKeyCall('dev-alice', keyId));
      await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
      // Assess
      expect(result.outcomes).toEqual([
        expect.objectContaining({ resourceId: 'dev-alice', compliance: 'COMPLIANT' }),
      ]);
      expect(await keyStatuses('dev-alice')).toEqual(['Active']);
      expect(await responder.incidents()).toEqual([]);
    });

    it('deactivates the key when its grant has expired (never deletes it): an incident and an alert', async () => {
      // Prepare
      const keyId = await userWithKey('dev-alice', 'Active');
      const grant = aGrant({ userName: 'dev-alice' }, -60_000);
      await ledger.record(grant);
      // Act
      await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
      // Assess
      expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        ruleId: FUNCTION,
        resourceType: 'AWS::IAM::User',
        resourceId: 'dev-alice',
        resourceArn: `arn:aws:iam::${ACCOUNT}:user/dev-alice`,
        region: 'us-east-1',
        status: 'remediated',
        evidence: {
          activeKeys: 1,
          keyIds: keyId,
          lastGrantId: grant.grantId,
          lastGrantEndedAt: grant.expiresAt,
        },
      });
      expect(incident?.steps[0]).toMatchObject({
        action: 'UpdateSSHPublicKey',
        result: 'succeeded',
        undo: {
          service: 'iam',
          action: 'UpdateSSHPublicKey',
          input: { UserName: 'dev-alice', SSHPublicKeyId: keyId, Status: 'Active' },
        },
      });
      expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
    });

    it('deactivates a key uploaded without any grant as soon as the upload is seen', async () => {
      // Prepare
      const keyId = await userWithKey('dev-carol', 'Active');
      // Act
      await handle(uploadKeyCall('dev-carol', keyId));
      // Assess
      expect(await keyStatuses('dev-carol')).toEqual(['Inactive']);
      expect((await responder.incidents())[0]).toMatchObject({
        trigger: { source: 'cloudtrail', eventName: 'UploadSSHPublicKey' },
      });
    });

    it('judges IAM keys in a sweep that leaves out us-east-1 (IAM is global), once', async () => {
      // Prepare
      await userWithKey('dev-dave', 'Active');
      // Act: the home region's schedule, sweeping only eu-west-1
      await handle(scheduledEvent({ accountId: ACCOUNT, region: 'eu-west-1' }));
      // Assess
      expect(await keyStatuses('dev-dave')).toEqual(['Inactive']);
      expect((await responder.incidents()).map((incident) => [incident.resourceId, incident.region])).toEqual(
        [['dev-dave', 'us-east-1']],
      );
    });
  });
});
