import { UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateVolumeCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  GetEbsEncryptionByDefaultCommand,
  type IpPermission,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { cloudTrailEvent, disableEbsEncryptionByDefaultCall, humanCaller } from '../../scripts/lib/events';
import type { Incident } from '../../shared/model';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { type CliRun, runCli } from '../support/cli';
import { cloudtrail, createAuditTrail, isLogging, trailCall } from '../support/cloudtrail';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ingressRules, ruleShape, ssh } from '../support/ssh';

const ec2 = new EC2Client({ region: 'us-east-1' });

const cli = runCli;

const encryptionByDefault = async () =>
  (await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault;

const disableCall = () =>
  cloudTrailEvent(disableEbsEncryptionByDefaultCall('us-east-1', humanCaller(ACCOUNT)));

const WORLD: IpPermission[] = [
  ssh('0.0.0.0/0', 'left open by a deploy'),
  ssh('::/0'),
  { IpProtocol: 'tcp', FromPort: 0, ToPort: 1024, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
];

let responder: LocalResponder;
let table: Record<string, string>;

const stored = async (incidentId: string) =>
  (await responder.incidents()).find((incident) => incident.incidentId === incidentId);

async function provision() {
  await resetAccount();
  responder = await LocalResponder.provision();
  table = { INCIDENT_TABLE: responder.stack.tableName };
}

/** Drift the rules really remediate: EBS encryption by default off, and SSH open to the world. */
async function realIncidents(world: IpPermission[] = [ssh('0.0.0.0/0')]) {
  await ec2.send(new DisableEbsEncryptionByDefaultCommand({}));
  const ebs = await responder.handlerOf(() => require('../../functions/ebs-encryption-by-default'))(
    disableCall(),
  );
  const group = await createGroup('us-east-1', 'bastion');
  for (const permission of world) await authorize('us-east-1', group, [permission]);
  const before = (await ingressRules('us-east-1', group)).map(ruleShape);
  const open = await responder.handlerOf(() => require('../../functions/ssh-open-to-world'))(
    authorizeCall('us-east-1', group),
  );
  const idOf = (result: HandlerResult) => String(result.outcomes[0]?.incidentId);
  return { ebsId: idOf(ebs), sshId: idOf(open), group, before };
}

describe('compliance-responder incidents, against moto with incidents the real rules produced', () => {
  beforeEach(provision);

  it('lists them newest first, filters by status and rule, and prints JSON', async () => {
    // Prepare
    const { ebsId, sshId } = await realIncidents();
    // Act
    const all = await cli(['incidents', 'list'], table);
    const filtered = await cli(
      ['incidents', 'list', '--status', 'remediated', '--rule', 'ssh-open-to-world', '--since', '1h'],
      table,
    );
    const json = await cli(['incidents', 'list', '--rule', 'ebs-encryption-by-default', '--json'], table);
    // Assess
    expect(all.code).toBe(0);
    const rows = all.stdout.trim().split('\n');
    expect(rows[0]).toMatch(
      /^INCIDENT\s+DETECTED \(UTC\)\s+SEVERITY\s+RULE\s+STATUS\s+ACCOUNT\s+REGION\s+RESOURCE$/,
    );
    expect(rows[1]).toMatch(
      new RegExp(`^${sshId}\\s.*HIGH\\s+ssh-open-to-world\\s+remediated\\s+${ACCOUNT}\\s+us-east-1\\s+sg-`),
    );
    expect(rows[2]).toMatch(
      new RegExp(`^${ebsId}\\s.*HIGH\\s+ebs-encryption-by-default\\s+remediated\\s+${ACCOUNT}\\s+us-east-1`),
    );
    expect(rows[3]).toContain('2 incident(s)');
    expect(filtered.code).toBe(0);
    expect(filtered.stdout).toContain(sshId);
    expect(filtered.stdout).not.toContain(ebsId);
    expect((JSON.parse(json.stdout) as Incident[]).map((incident) => incident.incidentId)).toEqual([ebsId]);
  });

  it('shows the whole documented incident, and the raw record with --json', async () => {
    // Prepare
    const { ebsId } = await realIncidents();
    // Act
    const shown = await cli(['incidents', 'show', ebsId], table);
    const raw = await cli(['incidents', 'show', ebsId, '--json'], table);
    // Assess
    expect(shown.code).toBe(0);
    const text = shown.stdout;
    expect(text).toContain(`incident ${ebsId}  [HIGH] ebs-encryption-by-default  remediated`);
    expect(text).toMatch(/what: +EBS encryption by default is off in us-east-1/);
    expect(text).toMatch(/who: +arn:aws:iam::123456789012:user\/dev-alice from 198\.51\.100\.23/);
    expect(text).toMatch(/trigger: +cloudtrail DisableEbsEncryptionByDefault/);
    expect(text).toMatch(/hipaa: +§164\.312\(a\)\(2\)\(iv\)/);
    expect(text).toMatch(/evidence: +encryptionByDefault=false/);
    expect(text).toMatch(/1\. EnableEbsEncryptionByDefault → succeeded at /);
    expect(text).toContain('undo:  ec2 DisableEbsEncryptionByDefault {"Region":"us-east-1"}');
    expect(text).toMatch(/2\. Verify → succeeded/);
    expect(text).toMatch(/alert: +sent \(message [\w-]+\)/);
    expect(text).toMatch(/runbook: +https:\/\/\S+\/ebs-encryption-by-default\.md/);
    const {
      pk: _pk,
      sk: _sk,
      detectedMonth: _month,
      expiresAt: _expires,
      ...record
    } = (await stored(ebsId)) as Incident & Record<string, unknown>;
    expect(JSON.parse(raw.stdout)).toEqual(record);
  });

  it('undoes a remediation for real: the AWS state goes back and the undo is recorded; twice is refused', async () => {
    // Prepare
    const { ebsId, sshId, group, before } = await realIncidents(WORLD);
    expect(await encryptionByDefault()).toBe(true);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    // Act
    const ebsUndo = await cli(['incidents', 'undo', ebsId, '--yes', '--reason', 'INC-1 test'], table);
    const sshUndo = await cli(
      ['incidents', 'undo', sshId, '--yes', '--reason', 'INC-1 test', '--exempt-for', '2h', '--json'],
      table,
    );
    // Assess: AWS is as before the remediation
    expect(ebsUndo).toMatchObject({ code: 0 });
    expect(ebsUndo.stdout).toContain('ec2 DisableEbsEncryptionByDefault in us-east-1 (reverses step 1');
    expect(ebsUndo.stdout).toContain(`undone ${ebsId}: 1 call(s) succeeded`);
    expect(await encryptionByDefault()).toBe(false);
    expect(sshUndo.code).toBe(0);
    const after = (await ingressRules('us-east-1', group)).map(ruleShape);
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after).toHaveLength(before.length);
    // Assess: each undo is its own audit entry: who, when, each call's result, last step first
    const ebs = await stored(ebsId);
    expect(ebs).toMatchObject({
      status: 'undone',
      statusReason: expect.stringMatching(/^undone by arn:aws:/),
      undo: {
        by: expect.stringMatching(/^arn:aws:/),
        result: 'succeeded',
        exemptForMinutes: 1440,
        startedAt: expect.any(String),
        finishedAt: expect.any(String),
        calls: [
          {
            step: 0,
            call: { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'us-east-1' } },
            result: 'succeeded',
            at: expect.any(String),
          },
        ],
      },
    });
    const ssh = await stored(sshId);
    expect(ssh?.undo?.exemptForMinutes).toBe(120);
    expect(ssh?.undo?.calls.map((entry) => [entry.step, entry.call.action, entry.result])).toEqual(
      [...WORLD.keys()].reverse().map((index) => [index, 'AuthorizeSecurityGroupIngress', 'succeeded']),
    );
    expect(JSON.parse(sshUndo.stdout)).toMatchObject({ incidentId: sshId, undo: { result: 'succeeded' } });
    expect(sshUndo.stderr).toMatch(
      new RegExp(`${group} is exempt from ssh-open-to-world until \\S+ \\(exm-[\\w-]+\\)`),
    );
    // Assess: the responder leaves the undo in place (the exemption the undo set), and says so
    const redelivered = await responder.handlerOf(() => require('../../functions/ssh-open-to-world'))(
      authorizeCall('us-east-1', group),
    );
    expect(redelivered.outcomes[0]).toMatchObject({ status: 'exempted' });
    expect(await ingressRules('us-east-1', group)).toHaveLength(before.length);
    // Act / Assess: a second undo changes nothing
    let again: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      again = await cli(['incidents', 'undo', ebsId, '--yes', '--reason', 'INC-1 test'], table);
    });
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(
      new RegExp(`^error: incident ${ebsId} was already undone by arn:aws:`),
    );
    expect(writesAmong(calls)).toEqual([]);
    expect((await stored(ebsId))?.undo).toEqual(ebs?.undo);
  });

  it('lets go of the drift after an undo: once its exemption is removed, the next delivery opens a new incident, remediates and pages', async () => {
    // Prepare: a real remediation, undone; the undo names its exemption
    const { sshId, group } = await realIncidents();
    const undo = await cli(['incidents', 'undo', sshId, '--yes', '--reason', 'INC-1 test'], table);
    expect(undo.code).toBe(0);
    const exemptionId = /\((exm-[\w-]+)\)/.exec(undo.stdout)?.[1] ?? '';
    const removed = await cli(['exemptions', 'remove', exemptionId, '--reason', 'undo checked'], table);
    expect(removed.code).toBe(0);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
    await responder.alerts();
    // Act: the drift is delivered again to the real function
    const redelivered = await responder.handlerOf(() => require('../../functions/ssh-open-to-world'))(
      authorizeCall('us-east-1', group),
    );
    // Assess: a new incident fixed it and paged; the undone one still says undone
    const outcome = redelivered.outcomes[0];
    expect(outcome).toMatchObject({ status: 'remediated' });
    expect(outcome?.incidentId).not.toBe(sshId);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
    expect((await stored(sshId))?.status).toBe('undone');
  });

  it('stops at the first failed undo call, records which calls ran and which did not, and exits 1', async () => {
    // Prepare: three world-open rules revoked in three steps; the middle one is put back by hand,
    // so replaying its undo (last step first: 3, 2, 1) fails as a duplicate
    const { sshId, group } = await realIncidents(WORLD);
    const middle = (await stored(sshId))?.steps[1]?.undo;
    const { Region: _region, ...input } = middle?.input ?? {};
    await ec2.send(new AuthorizeSecurityGroupIngressCommand(input as never));
    await responder.alerts();
    // Act
    const run = await cli(['incidents', 'undo', sshId, '--yes', '--reason', 'INC-1 test'], table);
    // Assess
    expect(run.code).toBe(1);
    const lastLine = run.stderr.trim().split('\n').pop();
    expect(lastLine).toMatch(
      new RegExp(
        `^error: undo of ${sshId} stopped at ec2 AuthorizeSecurityGroupIngress \\(us-east-1\\): .+; 1 call\\(s\\) ran, 1 did not`,
      ),
    );
    const incident = await stored(sshId);
    expect(incident?.status).toBe('remediated');
    expect(incident?.undo).toMatchObject({ result: 'failed', finishedAt: expect.any(String) });
    expect(incident?.undo?.calls.map((entry) => [entry.step, entry.result])).toEqual([
      [2, 'succeeded'],
      [1, 'failed'],
      [0, 'not-run'],
    ]);
    expect(incident?.undo?.calls[1]?.error).toEqual(expect.any(String));
    // Assess: step 3's rule is back, step 1's is still revoked
    const rules = (await ingressRules('us-east-1', group)).map(ruleShape);
    expect(rules).toHaveLength(2);
    expect(rules).not.toContainEqual(expect.objectContaining({ Description: 'left open by a deploy' }));
    // Assess: on-call hears what was and was not reversed, recorded in the undo entry
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      subject: expect.stringMatching(
        /^\[HIGH\] .+: undo stopped, 1 of 3 reversed — 123456789012\/us-east-1$/,
      ),
      attributes: { severity: 'HIGH', ruleId: 'ssh-open-to-world', status: 'undo-failed', account: ACCOUNT },
      body: {
        event: 'undo-failed',
        incidentId: sshId,
        reason: 'INC-1 test',
        reversed: 'step 3 (ec2 AuthorizeSecurityGroupIngress)',
        failed: 'step 2 (ec2 AuthorizeSecurityGroupIngress)',
        notRun: 'step 1 (ec2 AuthorizeSecurityGroupIngress)',
      },
    });
    expect(incident?.undo?.alert).toMatchObject({ status: 'sent', messageId: expect.any(String) });
    expect(lastLine).toContain('on-call was alerted');
  });
});

describe('compliance-responder incidents refusing what it cannot do, against moto', () => {
  let ebsId: string;
  let before: Incident | undefined;

  // Nothing here changes anything (each test asserts it): one account with real incidents serves all.
  beforeAll(async () => {
    await provision();
    ({ ebsId } = await realIncidents());
    before = await stored(ebsId);
  });

  it.each([
    [
      'an unknown incident id',
      ['incidents', 'show', 'inc-20260101T000000-00000000'],
      1,
      'error: incident inc-20260101T000000-00000000 not found in table',
    ],
    [
      'something that is not an incident id',
      ['incidents', 'undo', 'sg-1', '--yes', '--reason', 'INC-1 test'],
      2,
      "error: 'sg-1' is not an incident id",
    ],
    [
      'an undo nobody can confirm (stdin not a terminal)',
      ['incidents', 'undo', 'EBS', '--reason', 'INC-1 test'],
      2,
      'error: stdin is not a terminal, so nobody can confirm: pass --yes',
    ],
    [
      'an invalid --status',
      ['incidents', 'list', '--status', 'fixed'],
      2,
      "error: invalid --status 'fixed': one of open, remediating, remediated",
    ],
    [
      'an invalid --rule',
      ['incidents', 'list', '--rule', 'ebs'],
      2,
      "error: invalid --rule 'ebs': one of ebs-encryption-by-default",
    ],
    [
      'an invalid --since',
      ['incidents', 'list', '--since', 'yesterday'],
      2,
      "error: invalid --since 'yesterday'",
    ],
    [
      'an invalid --exempt-for',
      ['incidents', 'undo', 'EBS', '--yes', '--reason', 'INC-1 test', '--exempt-for', 'forever'],
      2,
      "error: invalid --exempt-for 'forever'",
    ],
    [
      'a table that does not exist',
      ['--table', 'no-such-table', 'incidents', 'list'],
      1,
      "error: table 'no-such-table' not found in us-east-1",
    ],
    ['the wrong region', ['--region', 'eu-west-3', 'incidents', 'list'], 1, 'not found in eu-west-3'],
  ])(
    'refuses %s with one clear line and the right exit code, changing nothing',
    async (_case, args, code, line) => {
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await cli(
          args.map((arg) => (arg === 'EBS' ? ebsId : arg)),
          table,
        );
      });
      // Assess
      expect(run.code).toBe(code);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(line);
      expect(writesAmong(calls)).toEqual([]);
      expect(await encryptionByDefault()).toBe(true);
      expect(await stored(ebsId)).toEqual(before);
    },
  );

  it('says there are no credentials in one line, with what to do', async () => {
    // Act
    const run = await cli(['incidents', 'list'], {
      ...table,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      'error: no AWS credentials found: set AWS_PROFILE (aws configure, aws sso login) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
    );
  });
});

/**
 * The insider's attempts: someone who can write the incidents table (but not the resources) rewrites
 * a real incident so that on-call's `incidents undo`, run with on-call's credentials, does what the
 * insider cannot. Each is refused with one line before any change, and the record is left as it is.
 */
describe("incidents list --account, against moto with an organisation member's incident in the table", () => {
  beforeEach(provision);

  it('lists one account, several or all, and refuses an id that is not 12 digits before any call', async () => {
    // Prepare: a member account's incident beside this account's, as an organisation deployment stores it
    const MEMBER = '222222222222';
    const { ebsId, sshId } = await realIncidents();
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: responder.stack.region }));
    const { Item } = await documents.send(
      new GetCommand({
        TableName: responder.stack.tableName,
        Key: { pk: `INCIDENT#${ebsId}`, sk: 'INCIDENT' },
      }),
    );
    const memberId = `${ebsId}-member`;
    await documents.send(
      new PutCommand({
        TableName: responder.stack.tableName,
        Item: { ...Item, pk: `INCIDENT#${memberId}`, incidentId: memberId, account: MEMBER },
      }),
    );
    // Act
    const member = await cli(['incidents', 'list', '--account', MEMBER], table);
    const both = await cli(['incidents', 'list', '--account', `${ACCOUNT}, ${MEMBER}`, '--json'], table);
    const all = await cli(['incidents', 'list', '--account', 'all', '--json'], table);
    const own = await cli(
      ['incidents', 'list', '--account', ACCOUNT, '--rule', 'ebs-encryption-by-default'],
      table,
    );
    const wrong = await cli(['incidents', 'list', '--account', '2222'], table);
    // Assess
    const ids = (run: CliRun) =>
      (JSON.parse(run.stdout) as Incident[]).map((incident) => incident.incidentId).sort();
    expect(member.code).toBe(0);
    expect(member.stdout).toMatch(new RegExp(`^${memberId}\\s.*remediated\\s+${MEMBER}\\s+us-east-1`, 'm'));
    expect(member.stdout).toContain(`1 incident(s) in ${responder.stack.tableName}`);
    expect(member.stdout).toContain(`account ${MEMBER}`);
    expect(ids(both)).toEqual([ebsId, memberId, sshId].sort());
    expect(ids(all)).toEqual([ebsId, memberId, sshId].sort());
    expect(own.stdout).toContain(ebsId);
    expect(own.stdout).not.toContain(memberId);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("invalid --account '2222'");
    expect(wrong.stdout).toBe('');
  });
});

describe('incidents undo refusing a rewritten incident record, against moto', () => {
  const documents = () =>
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: responder.stack.region }), {
      marshallOptions: { removeUndefinedValues: true },
    });

  /** Rewrites the stored incident item as an insider with table write access would. */
  async function rewrite(incidentId: string, change: (incident: Incident) => void): Promise<Incident> {
    const key = { pk: `INCIDENT#${incidentId}`, sk: 'INCIDENT' };
    const read = await documents().send(new GetCommand({ TableName: responder.stack.tableName, Key: key }));
    const item = read.Item as Incident & Record<string, unknown>;
    change(item);
    await documents().send(new PutCommand({ TableName: responder.stack.tableName, Item: item }));
    return (await stored(incidentId)) as Incident;
  }

  /** Runs the undo with the request recorder on: what the CLI said, and every write moto received. */
  async function undoRecorded(incidentId: string) {
    let run: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      run = await cli(['incidents', 'undo', incidentId, '--yes', '--reason', 'INC-1 test'], table);
    });
    return { run, writes: writesAmong(calls).map((call) => call.action) };
  }

  /** Refused in one line naming why, nothing written anywhere, the record as the insider left it. */
  async function expectRefused(incidentId: string, tampered: Incident, reason: string | RegExp) {
    const { run, writes } = await undoRecorded(incidentId);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: refused: incident ${incidentId}: `));
    expect(lines[0]).toMatch(reason);
    expect(lines[0]).toContain('nothing was changed');
    expect(writes).toEqual([]);
    expect(await stored(incidentId)).toEqual(tampered);
  }

  const undoOf = (incident: Incident, index = 0) =>
    incident.steps[index]?.undo as { input: Record<string, unknown> };

  beforeEach(provision);

  it('refuses an ssh-open-to-world undo rewritten to open more than the step revoked (all traffic instead of tcp 22)', async () => {
    // Prepare: the responder revoked tcp 22 from 0.0.0.0/0; the record now says to restore all traffic
    const { sshId, group } = await realIncidents();
    const tampered = await rewrite(sshId, (incident) => {
      undoOf(incident).input.IpPermissions = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
    });
    // Act / Assess
    await expectRefused(
      sshId,
      tampered,
      /restores all traffic from 0\.0\.0\.0\/0, but step 1 revoked tcp 22 from 0\.0\.0\.0\/0/,
    );
    expect(await ingressRules('us-east-1', group)).toEqual([]);
  });

  it('refuses an ssh-open-to-world undo whose group is rewritten to another one', async () => {
    // Prepare: the undo now opens a group the responder never touched (refused before this change too)
    const { sshId } = await realIncidents();
    const victim = await createGroup('us-east-1', 'phi-db');
    const tampered = await rewrite(sshId, (incident) => {
      undoOf(incident).input.GroupId = victim;
    });
    // Act / Assess
    await expectRefused(
      sshId,
      tampered,
      new RegExp(`ec2 AuthorizeSecurityGroupIngress: targets ${victim}, not sg-`),
    );
    expect(await ingressRules('us-east-1', victim)).toEqual([]);
  });

  it('refuses an ebs-volume-encrypted swap whose AttachVolume undo is rewritten to attach the PHI volume to another instance', async () => {
    // Prepare: a real swap (stop, snapshot, encrypted copy, detach, attach, start); the insider's instance
    const { volumeId, instanceId, incidentId } = await swappedVolume();
    const insider = await runInstance();
    const tampered = await rewrite(incidentId, (incident) => {
      Object.assign(incident.evidence, { attachedTo: insider });
      if (incident.workflow) Object.assign(incident.workflow.state, { instanceId: insider });
      for (const step of incident.steps) {
        const input = step.undo?.input as { InstanceIds?: string[]; InstanceId?: string } | undefined;
        if (input?.InstanceIds) input.InstanceIds = [insider];
        if (input?.InstanceId) input.InstanceId = insider;
      }
    });
    // Act / Assess
    await expectRefused(incidentId, tampered, new RegExp(`${insider} holds no copy of ${volumeId}`));
    expect((await volume(volumeId))?.State).toBe('available');
    expect((await instance(instanceId))?.State?.Name).toBe('running');
  });

  it("refuses a volume incident carrying another rule's undo action: opening a security group to the world", async () => {
    // Prepare: a real detached-volume incident; the insider makes its quarantine undo open a group
    const { incidentId } = await replacedVolume();
    const victim = await createGroup('us-east-1', 'phi-db');
    const tampered = await rewrite(incidentId, (incident) => {
      Object.assign(incident.evidence, { attachedTo: victim });
      const quarantine = incident.steps.find((step) => step.action === 'QuarantineOriginal');
      if (quarantine)
        quarantine.undo = {
          service: 'ec2',
          action: 'AuthorizeSecurityGroupIngress',
          input: { Region: 'us-east-1', GroupId: victim, IpPermissions: [ssh('0.0.0.0/0')] },
        };
    });
    // Act / Assess
    await expectRefused(
      incidentId,
      tampered,
      /ec2 AuthorizeSecurityGroupIngress: not an undo of ebs-volume-encrypted/,
    );
    expect(await ingressRules('us-east-1', victim)).toEqual([]);
  });

  it('refuses a cloudtrail-logging-on undo rewritten to StopLogging when its step never started logging', async () => {
    // Prepare: the trail logged all along; the responder only turned log file validation back on
    await createAuditTrail();
    await cloudtrail('us-east-1').send(
      new UpdateTrailCommand({ Name: 'audit', EnableLogFileValidation: false }),
    );
    const result = await responder.handlerOf(() => require('../../functions/cloudtrail-logging-on'))(
      trailCall('UpdateTrail', 'audit'),
    );
    const incidentId = String(result.outcomes[0]?.incidentId);
    const tampered = await rewrite(incidentId, (incident) => {
      const update = incident.steps.find((step) => step.action === 'UpdateTrail');
      if (update?.undo)
        update.undo = {
          ...update.undo,
          action: 'StopLogging',
          input: { Name: incident.resourceArn, Region: 'us-east-1' },
        };
    });
    // Act / Assess
    await expectRefused(
      incidentId,
      tampered,
      /cloudtrail StopLogging undoes StartLogging, and step 1 is UpdateTrail/,
    );
    expect(await isLogging()).toBe(true);
  });

  it('refuses an ebs-encryption-by-default undo rewritten to make the default EBS key one the insider chose', async () => {
    // Prepare: the responder turned encryption by default on; the insider's own key
    const { ebsId } = await realIncidents();
    const insiderKey = String((await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn);
    const tampered = await rewrite(ebsId, (incident) => {
      undoOf(incident).input.KmsKeyId = insiderKey;
      (incident.steps[0] as { undo: { action: string } }).undo.action = 'ModifyEbsDefaultKmsKeyId';
    });
    // Act / Assess
    await expectRefused(
      ebsId,
      tampered,
      /ec2 ModifyEbsDefaultKmsKeyId undoes ModifyEbsDefaultKmsKeyId, and step 1 is EnableEbsEncryptionByDefault/,
    );
    expect(await encryptionByDefault()).toBe(true);
  });

  it.each([
    [
      'of another account',
      (incident: Incident) => {
        incident.account = '999999999999';
        incident.resourceArn = incident.resourceArn.replace(ACCOUNT, '999999999999');
      },
      /of account 999999999999, and your credentials are account 123456789012's/,
    ],
    [
      'moved to another region, where no such group exists',
      (incident: Incident) => {
        incident.region = 'us-west-2';
        incident.resourceArn = incident.resourceArn.replace('us-east-1', 'us-west-2');
        undoOf(incident).input.Region = 'us-west-2';
      },
      /sg-\w+ does not exist in us-west-2/,
    ],
    [
      'whose region disagrees with its own resource ARN',
      (incident: Incident) => {
        incident.region = 'us-west-2';
        undoOf(incident).input.Region = 'us-west-2';
      },
      /its resource ARN names us-east-1, not us-west-2/,
    ],
  ])('refuses an ssh-open-to-world incident %s', async (_case, change, reason) => {
    // Prepare
    const { sshId, group } = await realIncidents();
    const tampered = await rewrite(sshId, change);
    // Act / Assess
    await expectRefused(sshId, tampered, reason);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
  });

  it('refuses an undo whose target no longer exists, naming it', async () => {
    // Prepare: the group the responder closed was deleted since
    const { sshId, group } = await realIncidents();
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: group }));
    const unchanged = (await stored(sshId)) as Incident;
    // Act / Assess
    await expectRefused(sshId, unchanged, new RegExp(`${group} does not exist in us-east-1`));
  });

  it('shows what each check found before it asks, and undoes a real swap: the original back at its device, the copy detached', async () => {
    // Prepare
    const { volumeId, instanceId, incidentId } = await swappedVolume();
    // Act
    const run = await cli(['incidents', 'undo', incidentId, '--yes', '--reason', 'INC-1 test'], table);
    // Assess: each call with what AWS showed now, before anything ran
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `checked: ${volumeId} is detached; ${instanceId} holds vol-\\w+ at /dev/sdf, an encrypted copy of ${volumeId} \\(from snap-`,
      ),
    );
    const undoneAt = run.stdout.indexOf('undone: ');
    expect(run.stdout.lastIndexOf('checked: ')).toBeLessThan(undoneAt);
    const mapped = (await instance(instanceId))?.BlockDeviceMappings?.find(
      (mapping) => mapping.DeviceName === '/dev/sdf',
    );
    expect(mapped?.Ebs?.VolumeId).toBe(volumeId);
    expect((await stored(incidentId))?.status).toBe('undone');
  });
});

const kms = new KMSClient({ region: 'us-east-1' });

const volume = async (volumeId: string) =>
  (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0];
const instance = async (instanceId: string) =>
  (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]
    ?.Instances?.[0];

async function runInstance(): Promise<string> {
  const started = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      MinCount: 1,
      MaxCount: 1,
      InstanceType: 't3.micro',
      Placement: { AvailabilityZone: 'us-east-1b' },
    }),
  );
  return String(started.Instances?.[0]?.InstanceId);
}

async function unencryptedVolume(): Promise<string> {
  const created = await ec2.send(
    new CreateVolumeCommand({ AvailabilityZone: 'us-east-1b', Size: 20, VolumeType: 'gp3' }),
  );
  return String(created.VolumeId);
}

const volumeCall = (eventName: string, parameters: Record<string, unknown>) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'ec2.amazonaws.com',
    region: 'us-east-1',
    caller: humanCaller(ACCOUNT),
    requestParameters: parameters,
    responseElements: { ...parameters, encrypted: false, availabilityZone: 'us-east-1b' },
  });

/** A detached unencrypted volume the real rule replaced (snapshot, encrypted copy, quarantine). */
async function replacedVolume() {
  const volumeId = await unencryptedVolume();
  const result = await responder.handlerOf(() => require('../../functions/ebs-volume-encrypted'))(
    volumeCall('CreateVolume', { volumeId }),
  );
  expect(result.outcomes[0]).toMatchObject({ status: 'remediated' });
  return { volumeId, incidentId: String(result.outcomes[0]?.incidentId) };
}

/** An in-use unencrypted volume the real rule swapped for an encrypted copy at the same device. */
async function swappedVolume() {
  const instanceId = await runInstance();
  const volumeId = await unencryptedVolume();
  await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: '/dev/sdf' }));
  const result = await responder.handlerOf(() => require('../../functions/ebs-volume-encrypted'), {
    EBS_IN_USE_ACTION: 'swap',
  })(volumeCall('AttachVolume', { volumeId, instanceId, device: '/dev/sdf' }));
  expect(result.outcomes[0]).toMatchObject({ status: 'remediated' });
  return { volumeId, instanceId, incidentId: String(result.outcomes[0]?.incidentId) };
}
