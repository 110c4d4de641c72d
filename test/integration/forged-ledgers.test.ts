import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { scheduledEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { newExemptionId } from '../../shared/exemptions/ledger';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { newGrantId } from '../../shared/ssh/grant-ledger';
import { runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import {
  ACCOUNT,
  authorize,
  authorizeCall,
  createGroup,
  GRANT_TAG,
  ingressRules,
  keyStatuses,
  ledgerOf,
  ssh,
  userWithKey,
} from '../support/ssh';

/**
 * The insider's attempts: someone who can write the incidents table (the ledgers live there) puts
 * exemption and grant items straight into it, beyond the limits `compliance-responder` enforces
 * when it writes them. moto enforces no IAM, so nothing here relies on AWS refusing the write: the
 * functions must ignore such items when they read them, and say why in the incident.
 */

const DAY_MS = 86_400_000;
const ON_CALL = `arn:aws:iam::${ACCOUNT}:user/on-call`;
const iso = (ms: number) => new Date(ms).toISOString();
const START = Date.now();

describe('ledger items written by hand beyond the limits count for nothing', () => {
  let responder: LocalResponder;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
  });

  /** What an insider with dynamodb:PutItem writes: the three items of an exemption, as the ledger does. */
  async function forgeExemption(ruleId: string, resourceArn: string, fields: Record<string, string>) {
    const now = Date.now();
    const exemption = {
      exemptionId: newExemptionId(new Date(now)),
      exemptRuleId: ruleId,
      resourceArn,
      reason: 'CHG-1 approved, honest',
      until: iso(now + 7 * DAY_MS),
      setBy: ON_CALL,
      setAt: iso(now),
      itemType: 'exemption',
      schemaVersion: 1,
      ...fields,
    };
    const keys = [
      { pk: `EXEMPTION#${exemption.exemptionId}`, sk: 'EXEMPTION' },
      { pk: 'EXEMPTIONS', sk: `${exemption.until}#${exemption.exemptionId}` },
      { pk: `EXEMPT#${ruleId}`, sk: resourceArn },
    ];
    await putAll(keys.map((key) => ({ ...exemption, ...key })));
    return exemption.exemptionId;
  }

  /** The two items of a grant, as the grant ledger writes them. */
  async function forgeGrant(grant: Record<string, unknown> & { createdAt: string; grantExpiresAt: string }) {
    const grantId = newGrantId(new Date());
    const item = {
      grantId,
      grantedTo: 'dev-alice',
      grantedBy: ON_CALL,
      reason: 'INC-7 restart the billing worker',
      itemType: 'ssh-grant',
      schemaVersion: 1,
      expiresAt: Math.floor(Date.parse(grant.grantExpiresAt) / 1000) + 30 * 86_400,
      ...grant,
    };
    await putAll([
      { ...item, pk: `GRANT#${grantId}`, sk: 'GRANT' },
      { ...item, pk: 'GRANTS', sk: `${grant.grantExpiresAt}#${grantId}` },
    ]);
    return grantId;
  }

  async function putAll(items: Record<string, unknown>[]) {
    const dynamo = createAwsClients('us-east-1').dynamo();
    for (const Item of items)
      await dynamo.send(new PutCommand({ TableName: responder.stack.tableName, Item }));
  }

  describe('exemptions', () => {
    const RULE = 'ssh-open-to-world';
    const groupArn = (groupId: string) => `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`;

    it.each([
      [
        'until 2099',
        { until: '2099-01-01T00:00:00.000Z' },
        'it ends 2099-01-01T00:00:00.000Z, more than a year after it was set',
      ],
      ['set by no one', { setBy: 'the security team' }, 'it was not set by an IAM principal'],
      [
        'set in the future, a year before it ends',
        { setAt: '2098-06-01T00:00:00.000Z', until: '2099-01-01T00:00:00.000Z' },
        'it was set in the future (2098-06-01T00:00:00.000Z)',
      ],
    ])(
      'an exemption %s: the group is remediated, nobody is silenced, the incident says why',
      async (_name, fields, why) => {
        // Prepare: SSH open to the world, and the insider's exemption of it
        const group = await createGroup('us-east-1', 'vendor-sftp');
        await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
        const exemptionId = await forgeExemption(RULE, groupArn(group), fields);
        const handle = responder.handlerOf(() => require('../../functions/ssh-open-to-world'));
        // Act
        await handle(authorizeCall('us-east-1', group));
        // Assess: handled as if no exemption existed, and the incident names the ignored item
        expect(await ingressRules('us-east-1', group)).toEqual([]);
        const [incident, ...others] = await responder.incidents();
        expect(others).toEqual([]);
        expect(incident?.status).toBe('remediated');
        expect(incident?.exemption).toBeUndefined();
        expect(incident?.exemptionRequest?.note).toContain(
          `exemption ${exemptionId} in the ledger is ignored: ${why}`,
        );
        expect(JSON.stringify(incident)).not.toContain('CHG-1');
        expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
        // Assess: on-call's listing says the same
        const listed = await runCli(['exemptions', 'list'], { INCIDENT_TABLE: responder.stack.tableName });
        expect(listed.stdout).toContain(exemptionId);
        expect(listed.stdout).toContain(`ignored: ${why}`);
      },
    );
  });

  describe('SSH grants', () => {
    const handle = (event: unknown): Promise<HandlerResult> =>
      responder.handlerOf(() => require('../../functions/ssh-grant-expired'))(event);

    it.each([
      [
        'a week long',
        { createdAt: iso(START), grantExpiresAt: iso(START + 7 * DAY_MS) },
        'it lasts 168h, over the cap of 12h (SSH_GRANT_MAX_TTL_MINUTES=720)',
      ],
      [
        'half an hour long, starting in 2099',
        { createdAt: '2098-12-31T23:45:00.000Z', grantExpiresAt: '2099-01-01T00:15:00.000Z' },
        'it was created in the future (2098-12-31T23:45:00.000Z)',
      ],
      [
        'granted by no one',
        {
          createdAt: iso(Date.now() - 60_000),
          grantExpiresAt: iso(Date.now() + 30 * 60_000),
          grantedBy: 'the security team',
        },
        'it was not granted by an IAM principal',
      ],
    ])(
      "an IAM user's grant %s: the key is set Inactive and the incident says why",
      async (_name, fields, why) => {
        // Prepare
        await userWithKey('dev-alice', 'Active');
        const grantId = await forgeGrant({
          kind: 'iam-ssh-key',
          target: { userName: 'dev-alice' },
          ...fields,
        });
        // Act
        await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
        // Assess
        expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
        const [incident] = await responder.incidents();
        expect(incident).toMatchObject({ status: 'remediated', evidence: { ignoredGrantId: grantId } });
        expect(incident?.reason).toContain(`grant ${grantId} is ignored: ${why}`);
        const listed = await runCli(['ssh', 'grants'], { INCIDENT_TABLE: responder.stack.tableName });
        expect(listed.stdout).toContain('no live SSH grants');
      },
    );

    it.each([
      ['10.0.0.0/8', 'it opens 10.0.0.0/8, broader than /24 for IPv4'],
      ['2001:db8::/32', 'it opens 2001:db8::/32, broader than /64 for IPv6'],
    ])(
      'a grant opening %s to a tagged rule: the rule is revoked and the incident says why',
      async (cidr, why) => {
        // Prepare: the grant item, and a rule tagged with its id
        const group = await createGroup('us-east-1', 'bastion');
        const grantId = await forgeGrant({
          kind: 'security-group-rule',
          target: { region: 'us-east-1', groupId: group, cidr, port: 22 },
          createdAt: iso(Date.now() - 60_000),
          grantExpiresAt: iso(Date.now() + 30 * 60_000),
        });
        await authorize('us-east-1', group, [ssh(cidr)], { [GRANT_TAG]: grantId });
        // Act
        await handle(authorizeCall('us-east-1', group));
        // Assess
        expect(await ingressRules('us-east-1', group)).toEqual([]);
        const [incident] = await responder.incidents();
        expect(incident).toMatchObject({
          status: 'remediated',
          evidence: { grantStatuses: 'ignored', grantIds: grantId },
        });
        expect(incident?.reason).toContain(`grant ${grantId} is ignored: ${why}`);
      },
    );
  });

  describe('the command line takes its caps from the deployed stack', () => {
    const grantArgs = (ttl: string) => [
      'ssh',
      'grant',
      '--user',
      'dev-alice',
      '--ttl',
      ttl,
      '--reason',
      'INC-42 billing worker',
    ];

    it("refuses a TTL over the deployed cap even when the caller's environment widens it", async () => {
      // Prepare
      await userWithKey('dev-alice', 'Inactive');
      const env = { INCIDENT_TABLE: responder.stack.tableName, SSH_GRANT_MAX_TTL_MINUTES: '10080' };
      // Act
      const run = await runCli(grantArgs('24h'), env);
      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('TTL 24h is over the cap of 12h');
      expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
      expect(await ledgerOf(responder.stack.tableName).endingAfter(new Date())).toEqual([]);
    });

    /** Sets the grant reader's cap on $LATEST; a deployment then publishes it, an insider does not. */
    const setDeployedCap = async (minutes: string, { publish }: { publish: boolean }) => {
      const FunctionName = `${responder.stack.env.STACK_NAME}-ssh-grant-expired`;
      const lambda = new LambdaClient({ region: 'us-east-1' });
      const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
      await lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName,
          Environment: {
            Variables: { ...current.Environment?.Variables, SSH_GRANT_MAX_TTL_MINUTES: minutes },
          },
        }),
      );
      if (publish) await lambda.send(new PublishVersionCommand({ FunctionName }));
    };

    it('follows a cap the deployment lowered', async () => {
      // Prepare: the stack redeployed with sshGrantMaxTtlMinutes 60
      await userWithKey('dev-alice', 'Inactive');
      await setDeployedCap('60', { publish: true });
      // Act
      const run = await runCli(grantArgs('2h'), { INCIDENT_TABLE: responder.stack.tableName });
      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('TTL 2h is over the cap of 1h');
      expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
    });

    it('ignores a cap widened on the function outside a deployment (UpdateFunctionConfiguration)', async () => {
      // Prepare: an insider with lambda:UpdateFunctionConfiguration sets a week on $LATEST
      await userWithKey('dev-alice', 'Inactive');
      await setDeployedCap('10080', { publish: false });
      // Act
      const run = await runCli(grantArgs('24h'), { INCIDENT_TABLE: responder.stack.tableName });
      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('TTL 24h is over the cap of 12h');
      expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
    });
  });
});
