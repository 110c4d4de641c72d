import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { createContext } from '../../cli/context';
import { ExitCode } from '../../cli/errors';
import { main } from '../../cli/index';
import { scan } from '../../cli/scan';
import { type ScanReport, scanExitCode } from '../../cli/scan-report';
import { scheduledEvent } from '../../scripts/lib/events';
import { type SeededDrift, seedDemoDrift } from '../../scripts/lib/seed-drift';
import { rules } from '../../shared/rules';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import { ACCOUNT, userWithKey } from '../support/ssh';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const SEEDED_RULES = ['ebs-encryption-by-default', 'ebs-volume-encrypted', 'ssh-open-to-world'];

describe('compliance-responder scan, against the drift the demo seeds in moto', () => {
  let responder: LocalResponder;
  let seeded: SeededDrift;

  /** The command line in this process (stderr is not a terminal here: no progress bar). */
  async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      ['node', 'compliance-responder', ...args],
      { out: (line) => out.push(line), err: (line) => err.push(line) },
      { ...process.env, ...responder.stack.env, ...env },
    );
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    seeded = await seedDemoDrift();
  });

  it('finds every piece of seeded drift, says what enforce would do, exits 3, and writes nothing', async () => {
    // Prepare
    const { volumeId, groupId } = seeded;
    // Act
    let run: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      run = await cli(['scan', '--region', 'us-east-1', '--region', 'us-west-2']);
    });
    // Assess: read-only, and the exit code says drift
    expect(calls.length).toBeGreaterThan(0);
    expect(writesAmong(calls)).toEqual([]);
    expect(run.code).toBe(ExitCode.DriftFound);
    expect(run.stderr).toBe('');
    // Assess: one row per seeded finding, with its mode next to what enforce would do
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^STATE\s+RULE\s+REGION\s+RESOURCE\s+WHY\s+MODE\s+ENFORCE WOULD$/);
    for (const region of seeded.encryptionOffRegions) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^drift\\s+ebs-encryption-by-default\\s+${region}\\s+${ACCOUNT}\\s+EBS encryption by default is off in ${region}.*\\s+enforce\\s+Enable EBS encryption by default in ${region}`,
          ),
        ),
      );
    }
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^drift\\s+ebs-volume-encrypted\\s+us-east-1\\s+${volumeId}\\s+EBS volume ${volumeId} \\(gp3, 100 GiB, available\\) is not encrypted\\s+enforce\\s+Snapshot ${volumeId}, create an encrypted copy`,
        ),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^drift\\s+ssh-open-to-world\\s+us-east-1\\s+${groupId}\\s+Security group ${groupId} \\(bastion\\) lets the whole internet reach port 22.*\\s+enforce\\s+Revoke 1 ingress rule`,
        ),
      ),
    );
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^scan of account ${ACCOUNT}, us-east-1, us-west-2 and IAM \\(global\\), ${rules.length} rule\\(s\\): \\d+ finding\\(s\\) of drift, 0 exempted; nothing was changed$`,
      ),
    );
  });

  it('prints a JSON report and nothing else on stdout: findings, every rule scanned, no errors', async () => {
    // Act
    const run = await cli(['scan', '--json', '--region', 'us-east-1', '--region', 'us-west-2']);
    // Assess
    expect(run.code).toBe(ExitCode.DriftFound);
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(report).toMatchObject({
      accountId: ACCOUNT,
      accounts: [ACCOUNT],
      regions: ['us-east-1', 'us-west-2'],
      errors: [],
    });
    const seededFindings = report.findings
      .filter((finding) => SEEDED_RULES.includes(finding.ruleId))
      .map(({ ruleId, region, resourceId, state, mode }) => ({ ruleId, region, resourceId, state, mode }));
    expect(seededFindings).toEqual([
      ...seeded.encryptionOffRegions.map((region) => ({
        ruleId: 'ebs-encryption-by-default',
        region,
        resourceId: ACCOUNT,
        state: 'drift',
        mode: 'enforce',
      })),
      {
        ruleId: 'ebs-volume-encrypted',
        region: 'us-east-1',
        resourceId: seeded.volumeId,
        state: 'drift',
        mode: 'enforce',
      },
      {
        ruleId: 'ssh-open-to-world',
        region: 'us-east-1',
        resourceId: seeded.groupId,
        state: 'drift',
        mode: 'enforce',
      },
    ]);
    expect(report.findings.every((finding) => finding.reason && finding.plan)).toBe(true);
    expect(new Set(report.scanned.map((listing) => listing.ruleId))).toEqual(
      new Set(rules.map((rule) => rule.id)),
    );
    // IAM is global: listed once, not once per region
    expect(report.scanned.filter((listing) => listing.scope === 'global')).toEqual([
      { accountId: ACCOUNT, ruleId: 'ssh-grant-expired', scope: 'global', resources: 0 },
    ]);
    expect(run.stderr).toMatch(
      /^scan of account .*: \d+ finding\(s\) of drift, 0 exempted; nothing was changed$/,
    );
  });

  it('--rule and --region narrow the scan to those rules and regions', async () => {
    // Act
    // (no HOME_REGION: the table, and the exemption ledger read for each finding, stay in the
    // profile's region, not in the region scanned)
    const west = await cli(
      ['scan', '--json', '--rule', 'ebs-encryption-by-default', '--region', 'us-west-2'],
      { HOME_REGION: '' },
    );
    const two = await cli([
      'scan',
      '--json',
      '--rule',
      'ebs-volume-encrypted',
      '--rule',
      'ssh-open-to-world',
      '--region',
      'us-east-1',
    ]);
    const none = await cli(['scan', '--rule', 'phi-dedicated-tenancy']);
    // Assess
    const westReport = JSON.parse(west.stdout) as ScanReport;
    expect(west.code).toBe(ExitCode.DriftFound);
    expect(westReport.scanned).toEqual([
      { accountId: ACCOUNT, ruleId: 'ebs-encryption-by-default', scope: 'us-west-2', resources: 1 },
    ]);
    expect(westReport.findings.map(({ ruleId, region }) => [ruleId, region])).toEqual([
      ['ebs-encryption-by-default', 'us-west-2'],
    ]);
    const twoReport = JSON.parse(two.stdout) as ScanReport;
    expect(twoReport.findings.map(({ ruleId, resourceId }) => [ruleId, resourceId])).toEqual([
      ['ebs-volume-encrypted', seeded.volumeId],
      ['ssh-open-to-world', seeded.groupId],
    ]);
    expect(none.code).toBe(ExitCode.Ok);
    expect(none.stdout).toBe(
      `scan of account ${ACCOUNT}, us-east-1, 1 rule(s): 0 finding(s) of drift, 0 exempted; nothing was changed`,
    );
  });

  it('counts an exemption tag alone as drift: only the ledger exempts', async () => {
    // Prepare
    const until = new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
    await new EC2Client({ region: 'us-east-1' }).send(
      new CreateTagsCommand({
        Resources: [seeded.volumeId],
        Tags: [
          { Key: 'compliance-responder:exempt', Value: 'CHG-1234 migration' },
          { Key: 'compliance-responder:exempt-until', Value: until },
        ],
      }),
    );
    // Act
    const scanned = await cli(['scan', '--rule', 'ebs-volume-encrypted']);
    // Assess
    expect(scanned.code).toBe(ExitCode.DriftFound);
    expect(scanned.stdout).toContain('1 finding(s) of drift, 0 exempted');
    expect(scanned.stdout).not.toContain('CHG-1234');
  });

  it('shows an exempted finding as exempted (it is not drift) and the mode each rule is configured in', async () => {
    // Prepare: the volume is exempted in the ledger; SSH's rule is configured to notify
    const until = await responder.exempt(
      'ebs-volume-encrypted',
      `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/${seeded.volumeId}`,
      'CHG-1234 migration',
      30,
    );
    // Act
    const exempted = await cli(['scan', '--rule', 'ebs-volume-encrypted']);
    const notify = await cli(['scan', '--rule', 'ssh-open-to-world'], { MODE_SSH_OPEN_TO_WORLD: 'notify' });
    // Assess: listed as exempted with its expiry, and no drift left
    expect(exempted.code).toBe(ExitCode.Ok);
    expect(exempted.stdout).toMatch(
      new RegExp(
        `^exempted\\s+ebs-volume-encrypted\\s+us-east-1\\s+${seeded.volumeId}\\s+.*\\s+enforce\\s+nothing: exempt until ${until}$`,
        'm',
      ),
    );
    expect(exempted.stdout).toContain('0 finding(s) of drift, 1 exempted');
    expect(notify.code).toBe(ExitCode.DriftFound);
    expect(notify.stdout).toMatch(
      new RegExp(
        `^drift\\s+ssh-open-to-world\\s+us-east-1\\s+${seeded.groupId}\\s+.*\\s+notify\\s+Revoke`,
        'm',
      ),
    );
  });

  it('reads the exemptions of all its findings together, one BatchGetItem, never one read per finding', async () => {
    // Prepare: three more groups open SSH to the world; one of them is exempted in the ledger
    const ec2 = new EC2Client({ region: 'us-east-1' });
    const groups: string[] = [];
    for (const index of [1, 2, 3]) {
      const { GroupId } = await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: `open-${index}`, Description: 'open' }),
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        }),
      );
      groups.push(String(GroupId));
    }
    await responder.exempt(
      'ssh-open-to-world',
      `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groups[1]}`,
      'CHG-77 vendor access',
      30,
    );
    // Act
    let run: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      run = await cli(['scan', '--rule', 'ssh-open-to-world', '--json']);
    });
    // Assess
    const report = JSON.parse(run.stdout) as ScanReport;
    const states = Object.fromEntries(report.findings.map((finding) => [finding.resourceId, finding.state]));
    expect(states).toMatchObject({
      [seeded.groupId]: 'drift',
      [groups[0] as string]: 'drift',
      [groups[1] as string]: 'exempted',
      [groups[2] as string]: 'drift',
    });
    const tableReads = calls.map((call) => call.action).filter((action) => /Item$/.test(action));
    expect(tableReads).toEqual(['BatchGetItem']);
  });

  it('reports a replaced original as drift kept as evidence by its incident, and forged quarantine tags as plain drift', async () => {
    // Prepare: the responder replaces the seeded volume and keeps the original; an insider tags
    // another unencrypted volume as if the responder had replaced it
    const handle = responder.handlerOf(() => require('../../functions/ebs-volume-encrypted'));
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
    const [incident] = await responder.incidents();
    const ec2 = new EC2Client({ region: 'us-east-1' });
    const forged = await ec2.send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1a',
        Size: 8,
        TagSpecifications: [
          {
            ResourceType: 'volume',
            Tags: [
              { Key: 'compliance-responder:quarantined', Value: incident?.incidentId ?? '' },
              { Key: 'compliance-responder:replaced-by', Value: 'vol-0123456789abcdef0' },
            ],
          },
        ],
      }),
    );
    // Act
    let run: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      run = await cli(['scan', '--rule', 'ebs-volume-encrypted', '--region', 'us-east-1']);
    });
    // Assess: both are drift; only the original the incident replaced is kept as its evidence
    expect(writesAmong(calls)).toEqual([]);
    expect(run.code).toBe(ExitCode.DriftFound);
    expect(run.stdout).toMatch(
      new RegExp(
        `^drift\\s+ebs-volume-encrypted\\s+us-east-1\\s+${seeded.volumeId}\\s+.*\\s+enforce\\s+nothing: evidence kept by incident ${incident?.incidentId}$`,
        'm',
      ),
    );
    expect(run.stdout).toMatch(
      new RegExp(
        `^drift\\s+ebs-volume-encrypted\\s+us-east-1\\s+${forged.VolumeId}\\s+.*\\s+enforce\\s+Snapshot ${forged.VolumeId}, create an encrypted copy`,
        'm',
      ),
    );
  });

  it('judges IAM (global) once, whichever regions are scanned', async () => {
    // Prepare: an Active SSH key with no grant
    await userWithKey('dev-erin', 'Active');
    // Act
    const run = await cli([
      'scan',
      '--json',
      '--rule',
      'ssh-grant-expired',
      '--region',
      'us-west-2',
      '--region',
      'eu-west-1',
    ]);
    // Assess
    const report = JSON.parse(run.stdout) as ScanReport;
    expect(run.code).toBe(ExitCode.DriftFound);
    expect(report.scanned.map((listing) => listing.scope)).toEqual(['us-west-2', 'eu-west-1', 'global']);
    expect(
      report.findings.map(({ resourceType, resourceId, region }) => [resourceType, resourceId, region]),
    ).toEqual([['AWS::IAM::User', 'dev-erin', 'us-east-1']]);
  });

  it('reports a listing that fails as not scanned (never as no findings) and exits 1', async () => {
    // Prepare: judging an IAM user's Active key needs the grant ledger, in a table that is not there
    await userWithKey('dev-erin', 'Active');
    // Act
    const run = await cli(['--table', 'no-such-table', 'scan', '--rule', 'ssh-grant-expired']);
    // Assess: the regional listing stands; the IAM listing is named as not scanned, with what to do
    expect(run.code).toBe(ExitCode.Error);
    expect(run.stdout).toContain(
      "not scanned: ssh-grant-expired in IAM (global): table 'no-such-table' not found in us-east-1: pass the --stage you deployed, or --table <name> (INCIDENT_TABLE)",
    );
    expect(run.stdout).not.toContain('dev-erin');
    expect(run.stdout).toContain('1 listing(s) NOT scanned');
    expect(run.stderr).toMatch(/^error: 1 listing\(s\) could not be made/);
  });

  it('keeps the other rules when one listing is denied, and the exit code says the scan is incomplete', async () => {
    // Prepare: real clients against moto, except that DescribeVolumes is refused as IAM would refuse it
    const ctx = await createContext(
      { table: responder.stack.tableName, region: 'us-east-1' },
      { out: () => {}, err: () => {} },
      { ...process.env, ...responder.stack.env },
    );
    const denied = Object.assign(new Error('You are not authorized to perform this operation.'), {
      name: 'UnauthorizedOperation',
    });
    const refusingEc2 = (region: string) => {
      const ec2 = new EC2Client({ region });
      ec2.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'DescribeVolumesCommand') throw denied;
          return next(args);
        },
        { step: 'initialize' },
      );
      return ec2;
    };
    const aws = () => ({ ...ctx.aws(), ec2: refusingEc2 });
    // Act
    const report = await scan({ ...ctx, aws }, { ruleIds: SEEDED_RULES, regions: ['us-east-1'] });
    // Assess
    expect(report.errors).toEqual([
      {
        accountId: ACCOUNT,
        ruleId: 'ebs-volume-encrypted',
        scope: 'us-east-1',
        reason: expect.stringMatching(/^access denied: You are not authorized/),
      },
    ]);
    expect(report.scanned.map((listing) => listing.ruleId)).toEqual([
      'ebs-encryption-by-default',
      'ssh-open-to-world',
    ]);
    expect(report.findings.map((finding) => finding.ruleId)).toEqual([
      'ebs-encryption-by-default',
      'ssh-open-to-world',
    ]);
    expect(scanExitCode(report)).toBe(ExitCode.Error);
  });

  it.each([
    [
      'an unknown rule',
      ['scan', '--rule', 'ebs-everything'],
      "error: unknown rule 'ebs-everything': use one of ebs-encryption-by-default, ebs-volume-encrypted,",
    ],
    [
      'a malformed region',
      ['scan', '--region', 'moon-1'],
      "error: unknown region 'moon-1' (--region): did you mean me-south-1?",
    ],
  ])('refuses %s with one line and exit code 2, before any AWS call', async (_case, args, line) => {
    // Act
    let run: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      run = await cli(args);
    });
    // Assess
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain(line);
    expect(run.stdout).toBe('');
    expect(calls).toEqual([]);
  });
});
