import {
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import {
  GetUserCommand,
  IAMClient,
  ListSSHPublicKeysCommand,
  ListUsersCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import * as ownCalls from '../../../shared/aws/own-calls';
import { OwnCall, RequestOutsideShapeError } from '../../../shared/aws/own-calls';
import { listingsOf } from '../../../shared/pipeline/listings';
import { actionsOf, type Finding, type Loaded } from '../../../shared/rules/rule';
import { sshGrantExpired as rule } from '../../../shared/rules/ssh-grant-expired';
import type { Grant } from '../../../shared/ssh/grant-ledger';
import { KeyStatus, setKeyStatus } from '../../../shared/ssh/iam-keys';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const GROUP = 'sg-0123456789abcdef0';
const TAG = 'compliance-responder:ssh-grant';
const LIVE_ID = 'sshg-20261123T110000-aaaaaaaa';
const EXPIRED_ID = 'sshg-20261123T100000-bbbbbbbb';
const OLD_ID = 'sshg-20250101T000000-cccccccc';
const minutesFromNow = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

const userRef = {
  resourceType: 'AWS::IAM::User',
  resourceId: 'dev-alice',
  region: 'us-east-1',
  accountId: ACCOUNT,
};
const groupRef = {
  resourceType: 'AWS::EC2::SecurityGroup',
  resourceId: GROUP,
  region: 'eu-west-1',
  accountId: ACCOUNT,
};

/** A ledger item as DynamoDbGrantLedger stores it. */
function stored(grant: Grant) {
  const { expiresAt, ...fields } = grant;
  return {
    pk: 'GRANTS',
    sk: `${expiresAt}#${grant.grantId}`,
    ...fields,
    grantExpiresAt: expiresAt,
    expiresAt: 0,
  };
}
const common = {
  grantedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
  reason: 'INC-7',
  createdAt: minutesFromNow(-60),
};
const userGrant = (grantId: string, expiresAt: string): Grant => ({
  ...common,
  grantId,
  kind: 'iam-ssh-key',
  target: { userName: 'dev-alice' },
  grantedTo: 'dev-alice',
  expiresAt,
});
const ruleGrant = (grantId: string, expiresAt: string, ruleId: string): Grant => ({
  ...common,
  grantId,
  kind: 'security-group-rule',
  target: { region: 'eu-west-1', groupId: GROUP, cidr: '203.0.113.7/32', port: 22, ruleId },
  grantedTo: 'dev-alice',
  expiresAt,
});

const sgRule = (id: string, cidr: string, tags: Record<string, string> = {}): SecurityGroupRule => ({
  SecurityGroupRuleId: id,
  GroupId: GROUP,
  IsEgress: false,
  IpProtocol: 'tcp',
  FromPort: 22,
  ToPort: 22,
  CidrIpv4: cidr,
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

describe('rule ssh-grant-expired', () => {
  const iam = mockClient(IAMClient);
  const ec2 = mockClient(EC2Client);
  const dynamo = mockClient(DynamoDBDocumentClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const ledgerActions = new Set<string>();
  const settings = testSettings();

  function givenUser(keys: { id: string; status: 'Active' | 'Inactive' }[]) {
    iam.on(GetUserCommand).resolves({
      User: {
        UserName: 'dev-alice',
        UserId: 'AIDA1',
        Arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice`,
        Path: '/',
        CreateDate: new Date(),
        Tags: [{ Key: 'team', Value: 'billing' }],
      },
    });
    iam.on(ListSSHPublicKeysCommand).resolves({
      SSHPublicKeys: keys.map((key) => ({
        UserName: 'dev-alice',
        SSHPublicKeyId: key.id,
        Status: key.status,
        UploadDate: new Date(),
      })),
    });
  }
  function givenLedger(grants: Grant[], byId: Grant[] = []) {
    dynamo.on(QueryCommand).resolves({ Items: grants.map(stored) });
    dynamo.on(GetCommand).resolves({});
    for (const grant of byId) {
      dynamo
        .on(GetCommand, { Key: { pk: `GRANT#${grant.grantId}`, sk: 'GRANT' } })
        .resolves({ Item: stored(grant) });
    }
  }
  function givenGroup(rules: SecurityGroupRule[]) {
    // DescribeSecurityGroups says the same as its rules, in its own form (IpPermissions).
    const IpPermissions = rules
      .filter((rule) => rule.IsEgress !== true)
      .map((rule) => ({
        IpProtocol: rule.IpProtocol,
        FromPort: rule.FromPort,
        ToPort: rule.ToPort,
        ...(rule.CidrIpv4 && { IpRanges: [{ CidrIp: rule.CidrIpv4 }] }),
        ...(rule.CidrIpv6 && { Ipv6Ranges: [{ CidrIpv6: rule.CidrIpv6 }] }),
        ...(rule.PrefixListId && { PrefixListIds: [{ PrefixListId: rule.PrefixListId }] }),
        ...(rule.ReferencedGroupInfo && {
          UserIdGroupPairs: [{ GroupId: rule.ReferencedGroupInfo.GroupId }],
        }),
      }));
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: GROUP, GroupName: 'bastion', OwnerId: ACCOUNT, Tags: [], IpPermissions }],
    });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: rules });
    ec2.on(GetManagedPrefixListEntriesCommand).resolves({ Entries: [{ Cidr: '198.51.100.0/24' }] });
  }
  async function drift(ref: typeof userRef) {
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);
    if (!loaded || !verdict || verdict.compliant) throw new Error('expected drift');
    return { loaded, finding: verdict as Finding };
  }

  beforeEach(() => {
    iam.reset();
    ec2.reset();
    dynamo.reset();
  });
  afterEach(() => {
    sent.collect('IAMClient', iam);
    sent.collect('EC2Client', ec2);
    // The ledger's document commands, as the IAM actions they need.
    if (dynamo.commandCalls(QueryCommand).length > 0) ledgerActions.add('dynamodb:Query');
    if (dynamo.commandCalls(GetCommand).length > 0) ledgerActions.add('dynamodb:GetItem');
  });
  afterAll(() => {
    iam.restore();
    ec2.restore();
    dynamo.restore();
  });

  describe("an IAM user's SSH keys", () => {
    it('finds Active keys without a live grant, naming the grant that ran out', async () => {
      // Prepare
      givenUser([
        { id: 'APKA1', status: 'Active' },
        { id: 'APKA2', status: 'Inactive' },
      ]);
      const ended = minutesFromNow(-5);
      givenLedger([userGrant(EXPIRED_ID, ended)]);
      // Act
      const { loaded, finding } = await drift(userRef);
      // Assess
      expect(loaded).toMatchObject({
        region: 'us-east-1',
        arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice`,
        tags: { team: 'billing' },
      });
      expect(finding).toMatchObject({
        reason: `IAM user dev-alice has 1 Active SSH key(s) and no live SSH grant: grant ${EXPIRED_ID} expired at ${ended}`,
        evidence: { activeKeys: 1, keyIds: 'APKA1', lastGrantId: EXPIRED_ID, lastGrantEndedAt: ended },
      });
      // One query reads live grants and those ended in the last day.
      const after = dynamo.commandCalls(QueryCommand)[0]?.args[0].input.ExpressionAttributeValues?.[
        ':after'
      ] as string;
      expect(Date.now() - Date.parse(after)).toBeGreaterThanOrEqual(24 * 3600 * 1000);
      expect(iam).toHaveReceivedCommandWith(GetUserCommand, { UserName: 'dev-alice' });
    });

    it('leaves Active keys alone while a live grant covers the user', async () => {
      // Prepare
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([userGrant(LIVE_ID, minutesFromNow(30))]);
      const loaded = await rule.load(userRef, aws, settings);
      // Act / Assess
      expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
    });

    it('is compliant when every key is Inactive, grant or not', async () => {
      // Prepare
      givenUser([{ id: 'APKA1', status: 'Inactive' }]);
      givenLedger([]);
      const loaded = await rule.load(userRef, aws, settings);
      // Act / Assess
      expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
    });

    it('sets every Active key Inactive, never deleting one, with an undo that sets it Active', async () => {
      // Prepare
      givenUser([
        { id: 'APKA1', status: 'Active' },
        { id: 'APKA2', status: 'Active' },
        { id: 'APKA3', status: 'Inactive' },
      ]);
      givenLedger([]);
      iam.on(UpdateSSHPublicKeyCommand).resolves({});
      const { loaded, finding } = await drift(userRef);
      const { context, steps } = recordingContext(aws, settings);
      // Act
      await rule.remediate(loaded, finding, context);
      // Assess
      expect(iam.commandCalls(UpdateSSHPublicKeyCommand).map((call) => call.args[0].input)).toEqual([
        { UserName: 'dev-alice', SSHPublicKeyId: 'APKA1', Status: 'Inactive' },
        { UserName: 'dev-alice', SSHPublicKeyId: 'APKA2', Status: 'Inactive' },
      ]);
      expect(steps[0]).toEqual({
        action: 'UpdateSSHPublicKey',
        undo: {
          service: 'iam',
          action: 'UpdateSSHPublicKey',
          input: { UserName: 'dev-alice', SSHPublicKeyId: 'APKA1', Status: 'Active' },
        },
      });
    });

    it('verifies by listing the keys again only: no GetUser, and no ledger read once no key is Active', async () => {
      // Prepare: the remediation set the key Inactive
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([]);
      const { loaded } = await drift(userRef);
      iam.reset();
      dynamo.reset();
      givenUser([{ id: 'APKA1', status: 'Inactive' }]);
      // Act
      const after = await rule.reload?.(loaded, aws, settings);
      // Assess
      expect(after).toMatchObject({ resourceId: 'dev-alice', tags: { team: 'billing' } });
      expect(after && rule.detect(after, settings)).toEqual({ compliant: true });
      expect(iam.calls().map((call) => call.args[0].constructor.name)).toEqual(['ListSSHPublicKeysCommand']);
      expect(dynamo.calls()).toHaveLength(0);
    });

    it("refuses to send UpdateSSHPublicKey Active through the responder's shape, and deactivates through it", async () => {
      // Prepare
      iam.on(UpdateSSHPublicKeyCommand).resolves({});
      const { context } = recordingContext(aws, settings);
      // Act
      const reactivate = setKeyStatus(
        aws.iam(),
        'dev-alice',
        'APKA1',
        KeyStatus.Active,
        context.step,
        OwnCall.UpdateSSHPublicKey,
      );
      // Assess
      await expect(reactivate).rejects.toThrow(RequestOutsideShapeError);
      expect(iam).toHaveReceivedCommandTimes(UpdateSSHPublicKeyCommand, 0);
      await setKeyStatus(
        aws.iam(),
        'dev-alice',
        'APKA1',
        KeyStatus.Inactive,
        context.step,
        OwnCall.UpdateSSHPublicKey,
      );
      expect(iam).toHaveReceivedCommandWith(UpdateSSHPublicKeyCommand, { Status: 'Inactive' });
    });

    it('deactivates only through the shape: a refused request is never sent', async () => {
      // Prepare: the shape refuses, whatever the code built
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([]);
      const refuse = jest.spyOn(ownCalls, 'refuseOutsideShape').mockImplementation(() => {
        throw new RequestOutsideShapeError('UpdateSSHPublicKey', ['Status']);
      });
      const { loaded, finding } = await drift(userRef);
      const { context } = recordingContext(aws, settings);
      try {
        // Act
        const remediation = rule.remediate(loaded, finding, context);
        // Assess
        await expect(remediation).rejects.toThrow(RequestOutsideShapeError);
        expect(refuse).toHaveBeenCalledWith(OwnCall.UpdateSSHPublicKey, {
          UserName: 'dev-alice',
          SSHPublicKeyId: 'APKA1',
          Status: 'Inactive',
        });
        expect(iam).toHaveReceivedCommandTimes(UpdateSSHPublicKeyCommand, 0);
      } finally {
        refuse.mockRestore();
      }
    });

    it('reports a deleted user as gone', async () => {
      // Prepare
      iam.on(GetUserCommand).rejects(Object.assign(new Error('no user'), { name: 'NoSuchEntityException' }));
      // Act / Assess
      expect(await rule.load(userRef, aws, settings)).toBeUndefined();
    });
  });

  describe("a security group's narrow SSH rules", () => {
    it('keeps a rule whose tag names a live grant for exactly that rule, and finds every other one', async () => {
      // Prepare
      givenGroup([
        sgRule('sgr-live', '203.0.113.7/32', { [TAG]: LIVE_ID }),
        sgRule('sgr-expired', '203.0.113.7/32', { [TAG]: EXPIRED_ID }),
        sgRule('sgr-untagged', '198.51.100.4/32'),
        sgRule('sgr-forged', '198.51.100.5/32', { [TAG]: 'sshg-20261123T000000-dddddddd' }),
        sgRule('sgr-copied', '203.0.113.7/32', { [TAG]: LIVE_ID }),
        sgRule('sgr-old', '203.0.113.7/32', { [TAG]: OLD_ID }),
        { ...sgRule('sgr-offices', ''), CidrIpv4: undefined, PrefixListId: 'pl-offices' },
        // The whole internet is ssh-open-to-world's: not judged here.
        sgRule('sgr-world', '0.0.0.0/0'),
      ]);
      givenLedger(
        [
          ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live'),
          ruleGrant(EXPIRED_ID, minutesFromNow(-1), 'sgr-expired'),
        ],
        [
          {
            ...ruleGrant(OLD_ID, '2025-01-01T01:00:00.000Z', 'sgr-old'),
            createdAt: '2025-01-01T00:00:00.000Z',
          },
        ],
      );
      // Act
      const { finding } = await drift(groupRef);
      // Assess
      expect(finding.evidence).toEqual({
        ungrantedRules: 6,
        ruleIds: 'sgr-expired,sgr-untagged,sgr-forged,sgr-copied,sgr-old,sgr-offices',
        grantStatuses: 'expired,untagged,unknown,mismatch,expired,untagged',
        grantIds: `${EXPIRED_ID},${LIVE_ID},${OLD_ID}`,
      });
      expect(finding.reason).toContain(
        `sgr-expired (tcp 22 from 203.0.113.7/32): grant ${EXPIRED_ID} expired at`,
      );
      expect(finding.reason).toContain(
        'sgr-forged (tcp 22 from 198.51.100.5/32): a grant tag the ledger does not hold',
      );
      // Only grants older than the lookback are read one by one.
      expect(dynamo.commandCalls(GetCommand).map((call) => call.args[0].input.Key)).toEqual([
        { pk: 'GRANT#sshg-20261123T000000-dddddddd', sk: 'GRANT' },
        { pk: `GRANT#${OLD_ID}`, sk: 'GRANT' },
      ]);
    });

    it('is compliant with only granted rules, and reads no ledger for a group without SSH rules', async () => {
      // Prepare
      givenGroup([sgRule('sgr-live', '203.0.113.7/32', { [TAG]: LIVE_ID })]);
      givenLedger([ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live')]);
      const granted = await rule.load(groupRef, aws, settings);
      givenGroup([{ ...sgRule('sgr-https', '0.0.0.0/0'), FromPort: 443, ToPort: 443 }]);
      dynamo.reset();
      const unrelated = await rule.load(groupRef, aws, settings);
      // Act / Assess
      expect(granted && rule.detect(granted, settings)).toEqual({ compliant: true });
      expect(unrelated && rule.detect(unrelated, settings)).toEqual({ compliant: true });
      expect(dynamo.calls()).toEqual([]);
    });

    it('revokes only the rules without a live grant, keeping each in its undo', async () => {
      // Prepare
      givenGroup([
        sgRule('sgr-live', '203.0.113.7/32', { [TAG]: LIVE_ID }),
        sgRule('sgr-untagged', '198.51.100.4/32'),
      ]);
      givenLedger([ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live')]);
      ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
      const { loaded, finding } = await drift(groupRef);
      const { context, steps } = recordingContext(aws, settings);
      // Act
      await rule.remediate(loaded, finding, context);
      // Assess
      expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
      expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
        GroupId: GROUP,
        SecurityGroupRuleIds: ['sgr-untagged'],
      });
      expect(steps[0]?.undo).toEqual({
        service: 'ec2',
        action: 'AuthorizeSecurityGroupIngress',
        input: {
          Region: 'eu-west-1',
          GroupId: GROUP,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.51.100.4/32' }] },
          ],
        },
      });
    });
  });

  describe("a member account's paths (deployment: organisation)", () => {
    // A grant covers its own account's paths only: user names and group ids repeat across accounts.
    const MEMBER = '444455556666';
    const OTHER_MEMBER = '777788889999';
    const inMember = { ...aws, memberAccount: MEMBER };
    const inAccount = (grant: Grant, account: string): Grant => ({ ...grant, account });
    const judgeUser = async (clients: typeof aws, accountId: string) => {
      const loaded = await rule.load({ ...userRef, accountId }, clients, settings);
      return loaded && rule.detect(loaded, settings);
    };

    it("judges a member's user with no grant, though the security account's same-named user holds one", async () => {
      // Prepare: a live grant for dev-alice naming no account (the security account's), and a member's dev-alice with a key
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([userGrant(LIVE_ID, minutesFromNow(30))]);
      // Act / Assess: drift in the member; the same grant still covers the security account's dev-alice
      expect(await judgeUser(inMember, MEMBER)).toMatchObject({
        compliant: false,
        reason: 'IAM user dev-alice has 1 Active SSH key(s) and no live SSH grant',
      });
      expect(await judgeUser(aws, ACCOUNT)).toEqual({ compliant: true });
    });

    it("leaves a member's user alone under a live grant naming that member, and no other account's user", async () => {
      // Prepare
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([inAccount(userGrant(LIVE_ID, minutesFromNow(30)), MEMBER)]);
      // Act / Assess
      expect(await judgeUser(inMember, MEMBER)).toEqual({ compliant: true });
      expect(await judgeUser({ ...aws, memberAccount: OTHER_MEMBER }, OTHER_MEMBER)).toMatchObject({
        compliant: false,
      });
      expect(await judgeUser(aws, ACCOUNT)).toMatchObject({ compliant: false });
    });

    it("ends a member's grant at its expiry, naming it, and sets the keys Inactive in the member", async () => {
      // Prepare: the member's grant ran out a minute ago
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([inAccount(userGrant(EXPIRED_ID, minutesFromNow(-1)), MEMBER)]);
      iam.on(UpdateSSHPublicKeyCommand).resolves({});
      const loaded = await rule.load({ ...userRef, accountId: MEMBER }, inMember, settings);
      if (!loaded) throw new Error('not loaded');
      const verdict = rule.detect(loaded, settings);
      // Act
      if (verdict.compliant) throw new Error('compliant');
      const { context } = recordingContext(inMember, settings);
      await rule.remediate(loaded, verdict as Finding, context);
      // Assess
      expect(verdict.reason).toContain(`grant ${EXPIRED_ID} expired at`);
      expect(iam).toHaveReceivedCommandWith(UpdateSSHPublicKeyCommand, {
        UserName: 'dev-alice',
        SSHPublicKeyId: 'APKA1',
        Status: 'Inactive',
      });
    });

    it("judges a member's tagged rule with no grant when the tagged grant is the security account's", async () => {
      // Prepare: the tag names a live grant for exactly this group id and rule, naming no account
      givenGroup([sgRule('sgr-live', '203.0.113.7/32', { [TAG]: LIVE_ID })]);
      givenLedger(
        [ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live')],
        [ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live')],
      );
      // Act
      const loaded = await rule.load({ ...groupRef, accountId: MEMBER }, inMember, settings);
      const verdict = loaded && rule.detect(loaded, settings);
      // Assess
      expect(verdict).toMatchObject({
        compliant: false,
        evidence: { ruleIds: 'sgr-live', grantStatuses: 'unknown' },
      });
    });

    it("keeps a member's rule opened under a live grant naming that member", async () => {
      // Prepare
      const granted = inAccount(ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live'), MEMBER);
      givenGroup([sgRule('sgr-live', '203.0.113.7/32', { [TAG]: LIVE_ID })]);
      givenLedger([granted], [granted]);
      // Act
      const loaded = await rule.load({ ...groupRef, accountId: MEMBER }, inMember, settings);
      const home = await rule.load(groupRef, aws, settings);
      // Assess: compliant in the member; the security account's same-id group is not covered
      expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
      expect(home && rule.detect(home, settings)).toMatchObject({
        compliant: false,
        evidence: { grantStatuses: 'unknown' },
      });
    });

    it("lists a member's users and groups with that member's grants only", async () => {
      // Prepare
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      iam.on(ListUsersCommand).resolves({
        Users: [
          {
            UserName: 'dev-alice',
            Arn: `arn:aws:iam::${MEMBER}:user/dev-alice`,
            UserId: 'AIDA1',
            Path: '/',
            CreateDate: new Date(),
          },
        ],
      });
      givenGroup([sgRule('sgr-live', '203.0.113.7/32', { [TAG]: LIVE_ID })]);
      const sweep = async (account: string) => {
        const verdicts: boolean[] = [];
        for (const listing of listingsOf(
          rule,
          ['eu-west-1'],
          { accountId: account, aws: { ...aws, memberAccount: account }, settings },
          { global: true },
        ))
          for await (const resource of listing.resources())
            verdicts.push(rule.detect(resource, settings).compliant);
        return verdicts;
      };
      givenLedger([
        inAccount(userGrant(LIVE_ID, minutesFromNow(30)), OTHER_MEMBER),
        inAccount(ruleGrant(LIVE_ID, minutesFromNow(30), 'sgr-live'), OTHER_MEMBER),
      ]);
      // Act / Assess: the other member's grants cover nothing here
      expect(await sweep(MEMBER)).toEqual([false, false]);
      givenLedger([
        inAccount(userGrant(LIVE_ID, minutesFromNow(30)), MEMBER),
        inAccount(ruleGrant('sshg-20261123T110000-dddddddd', minutesFromNow(30), 'sgr-x'), MEMBER),
      ]);
      // The group (its tag names a grant of this member for another rule), then the user, whose own grant covers it
      expect(await sweep(MEMBER)).toEqual([false, true]);
    });
  });

  describe('the lockdown sweep', () => {
    /** What a scheduled sweep of these regions lists (shared/pipeline/listings.ts). */
    async function sweep(...regions: string[]) {
      const swept: Loaded<unknown>[] = [];
      const context = { accountId: ACCOUNT, aws, settings };
      for (const listing of listingsOf(rule, regions, context, { global: true }))
        for await (const resource of listing.resources()) swept.push(resource);
      return swept;
    }

    it('judges IAM users once per sweep, whichever regions it covers (IAM is global), and every group of each region, reading the ledger once', async () => {
      // Prepare
      iam.on(ListUsersCommand).resolves({
        Users: [
          {
            UserName: 'dev-alice',
            UserId: 'A',
            Arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice`,
            Path: '/',
            CreateDate: new Date(),
          },
          {
            UserName: 'dev-bob',
            UserId: 'B',
            Arn: `arn:aws:iam::${ACCOUNT}:user/dev-bob`,
            Path: '/',
            CreateDate: new Date(),
          },
        ],
      });
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      iam.on(ListSSHPublicKeysCommand, { UserName: 'dev-bob' }).resolves({ SSHPublicKeys: [] });
      givenGroup([sgRule('sgr-untagged', '198.51.100.4/32')]);
      givenLedger([]);
      // Act: a sweep that leaves out us-east-1, then one of two regions
      const euOnly = await sweep('eu-west-1');
      const iamCallsOfOneSweep = iam.calls().length;
      const twoRegions = await sweep('eu-west-1', 'us-east-1');
      // Assess
      expect(
        euOnly.map((resource) => [resource.resourceId, rule.detect(resource, settings).compliant]),
      ).toEqual([
        [GROUP, false],
        ['dev-alice', false],
        ['dev-bob', true],
      ]);
      expect(twoRegions.map((resource) => [resource.region, resource.resourceId])).toEqual([
        ['eu-west-1', GROUP],
        ['us-east-1', GROUP],
        ['us-east-1', 'dev-alice'],
        ['us-east-1', 'dev-bob'],
      ]);
      expect(iam.calls().length).toBe(2 * iamCallsOfOneSweep);
      // Tags are read only for users holding an Active key (the only ones that can drift).
      expect(iam.commandCalls(GetUserCommand).map((call) => call.args[0].input.UserName)).toEqual([
        'dev-alice',
        'dev-alice',
      ]);
      // Once for all users in each sweep; never for groups whose rules carry no grant tag.
      expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 2);
    });

    it('resumes its IAM listing after a user an earlier unit judged, reading no key of the users before', async () => {
      // Prepare: three users, the first two judged by an earlier unit
      const user = (name: string) => ({
        UserName: name,
        UserId: name,
        Arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
        Path: '/',
        CreateDate: new Date(),
      });
      iam.on(ListUsersCommand).resolves({ Users: [user('dev-alice'), user('dev-bob'), user('dev-carol')] });
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenLedger([]);
      const [global] = listingsOf(rule, [], { accountId: ACCOUNT, aws, settings }, { global: true });
      // Act
      const listed: { arn: string; passedOver?: true }[] = [];
      for await (const resource of global?.resourcesAfter?.(`arn:aws:iam::${ACCOUNT}:user/dev-bob`) ?? [])
        listed.push(resource);
      // Assess: the first two are passed over by their ARN alone; only dev-carol's keys are read
      expect(listed.map((resource) => [resource.arn.split('/')[1], 'passedOver' in resource])).toEqual([
        ['dev-alice', true],
        ['dev-bob', true],
        ['dev-carol', false],
      ]);
      expect(iam.commandCalls(ListSSHPublicKeysCommand).map((call) => call.args[0].input.UserName)).toEqual([
        'dev-carol',
      ]);
    });

    it('lets a throttled ledger read fail the sweep instead of treating every path as ungranted or granted', async () => {
      // Prepare
      iam.on(ListUsersCommand).resolves({
        Users: [{ UserName: 'dev-alice', UserId: 'A', Arn: 'arn', Path: '/', CreateDate: new Date() }],
      });
      givenUser([{ id: 'APKA1', status: 'Active' }]);
      givenGroup([]);
      dynamo
        .on(QueryCommand)
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      // Act / Assess
      await expect(sweep('eu-west-1')).rejects.toThrow('Rate exceeded');
    });
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    const all = [...sent.all, ...ledgerActions].sort();
    expect(all).toEqual(actionsOf(rule).sort());
  });
});
