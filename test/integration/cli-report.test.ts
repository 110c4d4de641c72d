import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DisableEbsEncryptionByDefaultCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { main } from '../../cli/index';
import { cloudTrailEvent, disableEbsEncryptionByDefaultCall, humanCaller } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { DynamoDbExemptionLedger, type Exemption } from '../../shared/exemptions/ledger';
import type { Incident } from '../../shared/model';
import { IncidentStatus } from '../../shared/pipeline/lifecycle';
import { rules } from '../../shared/rules';
import { sshGrantExpired } from '../../shared/rules/ssh-grant-expired';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ssh } from '../support/ssh';

/** Runs the command line in this process (as `npx compliance-responder` would), capturing its output. */
async function cli(args: string[], tableName: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'compliance-responder', ...args],
    { out: (line) => out.push(line), err: (line) => err.push(line) },
    { ...process.env, INCIDENT_TABLE: tableName },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The rows of the Markdown table under `## <heading>`, keyed by its header cells. */
function markdownTable(markdown: string, heading: string): Record<string, string>[] {
  const section = (markdown.split(`## ${heading}\n`)[1] ?? '').split('\n## ')[0] ?? '';
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(2, -2)
      .split(' | ')
      .map((cell) => cell.trim());
  const header = cells(lines[0] ?? '| |');
  return lines.slice(2).map((line) => Object.fromEntries(cells(line).map((cell, i) => [header[i], cell])));
}

/** What the test expects per citation, counted straight from the incident records. */
function expectedFor(incidents: readonly Incident[], citation: string) {
  const cited = incidents.filter((incident) => incident.hipaa.includes(citation));
  const withStatus = (...statuses: string[]) =>
    cited.filter((incident) => statuses.includes(incident.status)).length;
  return {
    found: String(cited.length),
    ...Object.fromEntries(
      Object.values(IncidentStatus).map((status) => [status, String(withStatus(status))]),
    ),
  };
}

/** The ledger's exemptions in force at `at`, decided here from the raw entries (not through the report's code). */
const inForceAt = (exemptions: readonly Exemption[], at: Date) =>
  exemptions.filter(
    (exemption) =>
      !exemption.removedAt &&
      Date.parse(exemption.setAt) <= at.getTime() &&
      Date.parse(exemption.until) > at.getTime(),
  );

/** Exemptions whose rule (in the registry) cites `citation`. */
const citing = (exemptions: readonly Exemption[], citation: string) =>
  exemptions.filter((exemption) =>
    rules.find((rule) => rule.id === exemption.ruleId)?.hipaa.includes(citation),
  ).length;

const groupArn = (groupId: string) => `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`;

/** Detection to the successful Verify step, in ms, computed here from the record. */
function verifiedAfterMs(incident: Incident): number {
  const verify = incident.steps.find((step) => step.action === 'Verify' && step.result === 'succeeded');
  if (!verify) throw new Error(`incident ${incident.incidentId} has no successful Verify step`);
  return Date.parse(verify.at) - Date.parse(incident.detectedAt);
}

describe('compliance-responder report against incidents the real rules produced in moto', () => {
  let responder: LocalResponder;
  let ledger: DynamoDbExemptionLedger;
  /** Exempted through the CLI and still in force; its drift was recorded exempted. */
  let vendor: Exemption;
  /** Exempted through the CLI, its drift recorded exempted, then removed early. */
  let sunset: Exemption;

  /** `exemptions add ... --json` through the command line. */
  async function exempt(arn: string, rule: string, until: string, reason: string): Promise<Exemption> {
    const added = await cli(
      ['exemptions', 'add', arn, '--rule', rule, '--until', until, '--reason', reason, '--json'],
      responder.stack.tableName,
    );
    if (added.code !== 0) throw new Error(`exemptions add failed: ${added.err}`);
    return JSON.parse(added.out) as Exemption;
  }

  beforeAll(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    const ec2 = new EC2Client({ region: 'us-east-1' });
    // Encryption by default turned off: remediated (enforce)
    await ec2.send(new DisableEbsEncryptionByDefaultCommand({}));
    const encryption = responder.handlerOf(() => require('../../functions/ebs-encryption-by-default'));
    await encryption(cloudTrailEvent(disableEbsEncryptionByDefaultCall('us-east-1', humanCaller(ACCOUNT))));
    // SSH open to the world: two revoked (enforce), one left open (notify)
    const sshRule = () => require('../../functions/ssh-open-to-world');
    const [bastion, jump, legacy] = [
      await createGroup('us-east-1', 'bastion'),
      await createGroup('us-east-1', 'jump'),
      await createGroup('us-east-1', 'legacy'),
    ];
    for (const group of [bastion, jump, legacy]) await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    await responder.handlerOf(sshRule)(authorizeCall('us-east-1', bastion));
    await responder.handlerOf(sshRule)(authorizeCall('us-east-1', jump));
    await responder.handlerOf(sshRule, { MODE_SSH_OPEN_TO_WORLD: 'notify' })(
      authorizeCall('us-east-1', legacy),
    );
    // An SSH grant issued by on-call through the command line
    const granted = await cli(
      [
        'ssh',
        'grant',
        '--security-group',
        bastion,
        '--cidr',
        '203.0.113.7/32',
        '--ttl',
        '1h',
        '--reason',
        'INC-42 report test',
      ],
      responder.stack.tableName,
    );
    if (granted.code !== 0) throw new Error(`ssh grant failed: ${granted.err}`);
    // Exemptions through the command line: two groups exempted before their drift reached the rule
    // (so both incidents are recorded exempted), then one exemption removed early; and a volume
    // exemption (ebs-volume-encrypted cites two safeguards) with no incident at all.
    const [vendorGroup, sunsetGroup] = [
      await createGroup('us-east-1', 'vendor-sftp'),
      await createGroup('us-east-1', 'sunset'),
    ];
    vendor = await exempt(groupArn(vendorGroup), 'ssh-open-to-world', '30d', 'CHG-9 vendor SFTP');
    sunset = await exempt(groupArn(sunsetGroup), 'ssh-open-to-world', '7d', 'CHG-10 sunset host');
    await exempt(
      `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/vol-0123456789abcdef0`,
      'ebs-volume-encrypted',
      '14d',
      'CHG-11 vendor appliance volume',
    );
    for (const group of [vendorGroup, sunsetGroup]) {
      await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
      await responder.handlerOf(sshRule)(authorizeCall('us-east-1', group));
    }
    const removed = await cli(
      ['exemptions', 'remove', sunset.exemptionId, '--reason', 'host retired early'],
      responder.stack.tableName,
    );
    if (removed.code !== 0) throw new Error(`exemptions remove failed: ${removed.err}`);
    ledger = new DynamoDbExemptionLedger(
      createAwsClients('us-east-1').dynamo(),
      responder.stack.tableName,
      30,
    );
  });

  it('the scenario produced the incidents the report is checked against', async () => {
    // Act
    const incidents = await responder.incidents();
    // Assess: three remediated, one open (notify mode), two exempted, so the checks below are not vacuous;
    // and the SSH grant, a person's change recorded as its own incident (issue 18)
    expect(incidents.map((incident) => `${incident.ruleId} ${incident.status}`).sort()).toEqual([
      'ebs-encryption-by-default remediated',
      'ssh-grant-expired resolved',
      'ssh-open-to-world exempted',
      'ssh-open-to-world exempted',
      'ssh-open-to-world open',
      'ssh-open-to-world remediated',
      'ssh-open-to-world remediated',
    ]);
    // Both exempted incidents still carry their exemption: only the ledger knows one was removed
    expect(
      incidents.flatMap((incident) => (incident.exemption ? [incident.exemption.exemptionId] : [])).sort(),
    ).toEqual([sunset.exemptionId, vendor.exemptionId].sort());
    expect((await ledger.get(sunset.exemptionId))?.removedAt).toBeDefined();
  });

  it('finds the history of every status change on the incidents the functions recorded', async () => {
    // Act
    const incidents = await responder.incidents();
    // Assess: opened at detection in the status first decided (remediating with the first change's
    // intent, or open, or exempted), and the last change is the status now, each by the function
    for (const incident of incidents.filter((found) => !found.grantChange)) {
      const history = incident.transitions ?? [];
      const remediated = incident.steps.some((step) => step.undo !== undefined);
      expect({ id: incident.incidentId, opening: history[0] }).toMatchObject({
        id: incident.incidentId,
        opening: {
          to: remediated ? 'remediating' : expect.stringMatching(/^(open|exempted)$/),
          at: incident.detectedAt,
          by: expect.stringContaining(incident.ruleId),
        },
      });
      expect(history.at(-1)?.to).toBe(incident.status);
      expect(history[0]).not.toHaveProperty('from');
    }
    expect(incidents.some((incident) => (incident.transitions ?? []).length > 1)).toBe(true);
    // The grant's incident: opened by the person who granted (their ARN), open while its call ran, then resolved
    const grant = incidents.find((found) => found.grantChange);
    expect(grant?.transitions?.map(({ from, to, by }) => ({ from, to, by }))).toEqual([
      { from: undefined, to: 'open', by: grant?.grantChange?.by },
      { from: 'open', to: 'resolved', by: grant?.grantChange?.by },
    ]);
  });

  it('prints Markdown whose counts per safeguard match the incidents and the ledger', async () => {
    // Prepare
    const incidents = await responder.incidents();
    const citations = [...new Set(incidents.flatMap((incident) => incident.hipaa))];
    // Act
    const result = await cli(['report', '--since', '1h'], responder.stack.tableName);
    // Assess
    expect(result).toMatchObject({ code: 0, err: '' });
    const rows = markdownTable(result.out, 'By HIPAA safeguard');
    for (const citation of citations) {
      const row = rows.find((candidate) => candidate.safeguard?.startsWith(`§${citation}`));
      const expected = expectedFor(incidents, citation);
      expect({ citation, ...row }).toMatchObject({ citation, ...expected });
    }
    // Exemptions in force: from the ledger as read after the report (nothing changes it in between)
    const inForce = inForceAt(await ledger.list(), new Date());
    expect(inForce.map((exemption) => exemption.exemptionId)).toHaveLength(2);
    expect(inForce.map((exemption) => exemption.exemptionId)).not.toContain(sunset.exemptionId);
    for (const row of rows) {
      const citation = /^§(\S+)/.exec(row.safeguard ?? '')?.[1] ?? '';
      expect({ citation, exemptions: row['exemptions in force'] }).toEqual({
        citation,
        exemptions: String(citing(inForce, citation)),
      });
    }
    const listed = markdownTable(
      result.out,
      `Exemptions in force at the end of the period (${inForce.length})`,
    );
    expect(listed.map((line) => line.exemption).sort()).toEqual(
      inForce.map((exemption) => exemption.exemptionId).sort(),
    );
    expect(listed.find((line) => line.exemption === vendor.exemptionId)).toEqual({
      exemption: vendor.exemptionId,
      rule: 'ssh-open-to-world',
      'resource ARN': vendor.resourceArn,
      'set by': vendor.setBy,
      'set at': vendor.setAt,
      until: vendor.until,
      reason: vendor.reason,
    });
    // The incident lines: the removed exemption's incident shows no end any more
    const lines = markdownTable(result.out, `Incidents (${incidents.length})`);
    const statusOf = (exemptionId: string) =>
      lines.find(
        (line) =>
          line.incident ===
          incidents.find((incident) => incident.exemption?.exemptionId === exemptionId)?.incidentId,
      )?.status;
    expect(statusOf(vendor.exemptionId)).toBe(`exempted until ${vendor.until}`);
    expect(statusOf(sunset.exemptionId)).toBe('exempted');
    // One grant was issued: it counts under each safeguard of the rule that enforces grants, and only there
    for (const row of rows) {
      const citation = /^§(\S+)/.exec(row.safeguard ?? '')?.[1] ?? '';
      expect({ citation, grants: row['SSH grants issued'] }).toEqual({
        citation,
        grants: sshGrantExpired.hipaa.includes(citation) ? '1' : '0',
      });
    }
    const [totals] = markdownTable(result.out, 'Totals');
    // Found reconciles: one column per status of the lifecycle, adding up to it
    const statusSum = Object.values(IncidentStatus).reduce(
      (sum, status) => sum + Number(totals?.[status]),
      0,
    );
    expect(statusSum).toBe(incidents.length);
    expect(totals).toMatchObject({
      found: String(incidents.length),
      'SSH grants issued': '1',
      'exemptions in force': String(inForce.length),
    });
    const weeks = markdownTable(result.out, 'Incidents per week');
    expect(weeks.reduce((sum, week) => sum + Number(week.incidents), 0)).toBe(incidents.length);
  });

  it('writes one HTML file whose figures and times to remediate match the incidents', async () => {
    // Prepare
    const incidents = await responder.incidents();
    const out = join(mkdtempSync(join(tmpdir(), 'report-')), 'report.html');
    // Act
    const result = await cli(
      ['report', '--since', '1h', '--format', 'html', '--out', out],
      responder.stack.tableName,
    );
    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      `wrote html report to ${out}: ${incidents.length} incident(s), 1 SSH grant(s)`,
    );
    const html = readFileSync(out, 'utf8');
    const data = JSON.parse(
      /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? 'null',
    ) as {
      safeguards: {
        citation: string;
        found: number;
        timeToRemediate: { medianMs: number | null; worstMs: number | null };
      }[];
    };
    for (const citation of new Set(incidents.flatMap((incident) => incident.hipaa))) {
      const times = incidents
        .filter((incident) => incident.hipaa.includes(citation) && incident.status === 'remediated')
        .map(verifiedAfterMs)
        .sort((a, b) => a - b);
      const row = data.safeguards.find((candidate) => candidate.citation === citation);
      const middle = Math.floor(times.length / 2);
      const median =
        times.length === 0
          ? null
          : times.length % 2 === 1
            ? times[middle]
            : ((times[middle - 1] ?? 0) + (times[middle] ?? 0)) / 2;
      expect({ citation, found: row?.found, ...row?.timeToRemediate }).toMatchObject({
        citation,
        found: Number(expectedFor(incidents, citation).found),
        medianMs: median,
        worstMs: times.at(-1) ?? null,
      });
    }
  });
});

describe('compliance-responder report --account, with an organisation member account in the table', () => {
  const MEMBER = '222222222222';
  let responder: LocalResponder;
  let own: Incident;
  let member: Incident;

  beforeAll(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    const table = responder.stack.tableName;
    await new EC2Client({ region: 'us-east-1' }).send(new DisableEbsEncryptionByDefaultCommand({}));
    await responder.handlerOf(() => require('../../functions/ebs-encryption-by-default'))(
      cloudTrailEvent(disableEbsEncryptionByDefaultCall('us-east-1', humanCaller(ACCOUNT))),
    );
    const [first] = await responder.incidents();
    if (!first) throw new Error('the rule recorded no incident');
    own = first;
    // The same drift in a member account, stored as an organisation deployment stores it
    member = { ...own, incidentId: `${own.incidentId}-member`, account: MEMBER };
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: responder.stack.region }));
    const { Item } = await documents.send(
      new GetCommand({ TableName: table, Key: { pk: `INCIDENT#${own.incidentId}`, sk: 'INCIDENT' } }),
    );
    await documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...Item,
          pk: `INCIDENT#${member.incidentId}`,
          incidentId: member.incidentId,
          account: MEMBER,
        },
      }),
    );
    // One exemption and one SSH grant here, one exemption in the member account
    for (const account of [ACCOUNT, MEMBER]) {
      const arn = `arn:aws:ec2:us-east-1:${account}:volume/vol-0123456789abcdef0`;
      const added = await cli(
        [
          'exemptions',
          'add',
          arn,
          '--rule',
          'ebs-volume-encrypted',
          '--until',
          '7d',
          '--reason',
          'CHG-12 scope',
        ],
        table,
      );
      if (added.code !== 0) throw new Error(`exemptions add failed: ${added.err}`);
    }
    const group = await createGroup('us-east-1', 'bastion');
    const granted = await cli(
      [
        'ssh',
        'grant',
        '--security-group',
        group,
        '--cidr',
        '203.0.113.7/32',
        '--ttl',
        '1h',
        '--reason',
        'INC-43 scope',
      ],
      table,
    );
    if (granted.code !== 0) throw new Error(`ssh grant failed: ${granted.err}`);
  });

  const totals = (markdown: string) => markdownTable(markdown, 'Totals')[0] ?? {};
  /** The incident ids the report lists, under its `## Incidents (n)` heading whose n must match. */
  const incidentIds = (markdown: string) => {
    const count = /^## Incidents \((\d+)\)$/m.exec(markdown)?.[1] ?? 'none';
    const ids = markdownTable(markdown, `Incidents (${count})`).map((line) => line.incident);
    expect(ids).toHaveLength(Number(count));
    return ids.sort();
  };

  it('covers only the named accounts: their incidents, exemptions and grants (grants are this account’s)', async () => {
    // Act
    const table = responder.stack.tableName;
    const memberOnly = await cli(['report', '--since', '1h', '--account', MEMBER], table);
    const ownOnly = await cli(['report', '--since', '1h', '--account', ACCOUNT], table);
    const both = await cli(['report', '--since', '1h', '--account', `${ACCOUNT},${MEMBER}`], table);
    const all = await cli(['report', '--since', '1h'], table);
    // Assess
    for (const run of [memberOnly, ownOnly, both, all]) expect(run).toMatchObject({ code: 0, err: '' });
    expect(incidentIds(memberOnly.out)).toEqual([member.incidentId]);
    expect(memberOnly.out).toContain(`accounts ${MEMBER} only`);
    expect(memberOnly.out).toContain('## Exemptions in force at the end of the period (1)');
    expect(memberOnly.out).toContain(`arn:aws:ec2:us-east-1:${MEMBER}:volume/`);
    expect(memberOnly.out).not.toContain(`arn:aws:ec2:us-east-1:${ACCOUNT}:volume/`);
    expect(totals(memberOnly.out)['SSH grants issued']).toBe('0');
    // The SSH grant is documented by an incident of its own, in this account
    const ownIds = incidentIds(ownOnly.out);
    expect(ownIds).toContain(own.incidentId);
    expect(ownIds).toHaveLength(2);
    expect(ownOnly.out).toContain('## Exemptions in force at the end of the period (1)');
    expect(totals(ownOnly.out)['SSH grants issued']).toBe('1');
    for (const run of [both, all]) {
      expect(incidentIds(run.out)).toEqual([...ownIds, member.incidentId].sort());
      expect(run.out).toContain('## Exemptions in force at the end of the period (2)');
      expect(totals(run.out)['SSH grants issued']).toBe('1');
    }
    expect(all.out).not.toContain(' only.');
  });

  it('refuses an account id that is not 12 digits before reading anything', async () => {
    const wrong = await cli(['report', '--account', `${MEMBER},12345`], responder.stack.tableName);
    expect(wrong).toMatchObject({ code: 2, out: '' });
    expect(wrong.err).toContain("invalid --account '12345'");
  });
});
