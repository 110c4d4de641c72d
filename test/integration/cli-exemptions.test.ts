import { CreateTagsCommand, DisableEbsEncryptionByDefaultCommand, EC2Client } from '@aws-sdk/client-ec2';
import { cloudTrailEvent, disableEbsEncryptionByDefaultCall, humanCaller } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { DynamoDbExemptionLedger, type Exemption } from '../../shared/exemptions/ledger';
import { runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ingressRules, ssh } from '../support/ssh';

const RULE = 'ssh-open-to-world';

const cli = runCli;

const groupArn = (groupId: string) => `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`;

describe('compliance-responder exemptions, run as a user would against moto', () => {
  let responder: LocalResponder;
  let table: Record<string, string>;

  /** A security group with SSH open to the world: drift for ssh-open-to-world. */
  async function openGroup(name: string): Promise<string> {
    const group = await createGroup('us-east-1', name);
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    return group;
  }

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    table = { INCIDENT_TABLE: responder.stack.tableName, AWS_REGION: 'us-east-1' };
  });

  it('exempts through the ledger: the real function records it exempted and leaves the group; after remove it remediates', async () => {
    // Prepare
    const group = await openGroup('vendor-sftp');
    // Act: add through the CLI
    const added = await cli(
      [
        'exemptions',
        'add',
        groupArn(group),
        '--rule',
        RULE,
        '--until',
        '30d',
        '--reason',
        'CHG-9 vendor SFTP until cut-over',
        '--json',
      ],
      table,
    );
    // Assess: recorded with the caller
    expect(added).toMatchObject({ code: 0 });
    const exemption = JSON.parse(added.stdout) as Exemption;
    expect(exemption).toMatchObject({
      ruleId: RULE,
      resourceArn: groupArn(group),
      reason: 'CHG-9 vendor SFTP until cut-over',
      setBy: expect.stringMatching(/^arn:aws:/),
    });
    const listed = await cli(['exemptions', 'list'], table);
    expect(listed.stdout).toMatch(
      new RegExp(
        `${exemption.exemptionId}\\s+${RULE}\\s+${groupArn(group)}\\s+${exemption.until}\\s+in force`,
      ),
    );
    // Act: a drift event reaches the real bundled function
    const first = await responder.invokeBundle(RULE, authorizeCall('us-east-1', group));
    // Assess: exempted with who, why and until; the rule is still there; nobody paged
    expect(first.ok).toBe(true);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
    const [exempted] = await responder.incidents();
    expect(exempted).toMatchObject({
      status: 'exempted',
      steps: [],
      exemption: {
        exemptionId: exemption.exemptionId,
        reason: 'CHG-9 vendor SFTP until cut-over',
        until: exemption.until,
        setBy: exemption.setBy,
      },
    });
    // the exemption itself pages (a person changed what the responder does); the exempted finding does not
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['exemption-added']);
    // Act: remove, then the next delivery
    const removed = await cli(
      ['exemptions', 'remove', exemption.exemptionId, '--reason', 'cut-over done'],
      table,
    );
    const second = await responder.invokeBundle(RULE, authorizeCall('us-east-1', group));
    // Assess: removal recorded, not deleted; the group is remediated under a new incident, which pages
    expect(removed).toMatchObject({ code: 0 });
    expect(removed.stdout).toContain(`removed ${exemption.exemptionId}`);
    expect(second.ok).toBe(true);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    const statuses = (await responder.incidents()).map((incident) => incident.status).sort();
    expect(statuses).toEqual(['exempted', 'remediated']);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual([
      'exemption-removed',
      'remediated',
    ]);
    const ledger = new DynamoDbExemptionLedger(
      createAwsClients('us-east-1').dynamo(),
      responder.stack.tableName,
      30,
    );
    expect(await ledger.get(exemption.exemptionId)).toMatchObject({
      removedBy: expect.stringMatching(/^arn:aws:/),
      removeReason: 'cut-over done',
    });
    expect((await cli(['exemptions', 'list'], table)).stdout).toContain('no exemptions in force');
    expect((await cli(['exemptions', 'list', '--all'], table)).stdout).toContain(exemption.exemptionId);
  });

  it('treats exemption tags alone as a request: remediates and notes the command that confirms it', async () => {
    // Prepare
    const group = await openGroup('tagged');
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    await new EC2Client({ region: 'us-east-1' }).send(
      new CreateTagsCommand({
        Resources: [group],
        Tags: [
          { Key: 'compliance-responder:exempt', Value: 'CHG-10 set by tag' },
          { Key: 'compliance-responder:exempt-until', Value: until },
        ],
      }),
    );
    // Act
    const result = await responder.invokeBundle(RULE, authorizeCall('us-east-1', group));
    // Assess
    expect(result.ok).toBe(true);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    const [incident] = await responder.incidents();
    expect(incident?.status).toBe('remediated');
    expect(incident?.exemptionRequest?.note).toContain(
      `not confirmed in the exemption ledger; to confirm: compliance-responder exemptions add ${groupArn(group)} --rule ${RULE} --until ${until}`,
    );
    expect(JSON.stringify(incident)).not.toContain('CHG-10');
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
  });

  it('exempts an account-level setting, which has no tags', async () => {
    // Prepare
    await new EC2Client({ region: 'us-east-1' }).send(new DisableEbsEncryptionByDefaultCommand({}));
    const arn = `arn:aws:ec2:us-east-1:${ACCOUNT}:ebs-encryption-by-default`;
    const added = await cli(
      [
        'exemptions',
        'add',
        arn,
        '--rule',
        'ebs-encryption-by-default',
        '--until',
        '2h',
        '--reason',
        'CHG-11 AMI import',
      ],
      table,
    );
    // Act
    const result = await responder.invokeBundle(
      'ebs-encryption-by-default',
      cloudTrailEvent(disableEbsEncryptionByDefaultCall('us-east-1', humanCaller(ACCOUNT))),
    );
    // Assess
    expect(added.code).toBe(0);
    expect(result.ok).toBe(true);
    expect((await responder.incidents()).map((incident) => incident.status)).toEqual(['exempted']);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['exemption-added']);
  });

  it.each([
    [['--rule', 'no-such-rule', '--until', '1d', '--reason', 'why not'], 'unknown --rule'],
    [
      ['--rule', 'ebs-volume-encrypted', '--until', '1d', '--reason', 'why not'],
      'ebs-volume-encrypted judges AWS::EC2::Volume, not AWS::EC2::SecurityGroup',
    ],
    [['--rule', RULE, '--until', '2020-01-01', '--reason', 'why not'], 'it is not in the future'],
    [['--rule', RULE, '--until', '500d', '--reason', 'why not'], 'at most a year ahead'],
    [['--rule', RULE, '--until', '1d', '--reason', ' '], '--reason must say why'],
  ])('refuses a bad add with one line and exit code 2: %j', async (options, message) => {
    // Act
    const run = await cli(['exemptions', 'add', groupArn('sg-0123456789abcdef0'), ...options], table);
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
  });

  it('refuses a second exemption while one is in force, and an unknown id on remove', async () => {
    // Prepare
    const arn = groupArn('sg-0123456789abcdef0');
    const args = ['exemptions', 'add', arn, '--rule', RULE, '--until', '1d', '--reason', 'CHG-12'];
    const first = await cli(args, table);
    // Act
    const second = await cli(args, table);
    const unknown = await cli(['exemptions', 'remove', 'exm-20260101T000000-00000000'], table);
    // Assess
    expect(first.code).toBe(0);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${arn} is already exempt from ${RULE}`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown exemption id 'exm-20260101T000000-00000000'");
  });
});
