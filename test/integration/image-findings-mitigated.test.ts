import { BatchDeleteImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { createContext } from '../../cli/context';
import { CliError } from '../../cli/errors';
import { resolveIncident } from '../../cli/resolve';
import { cloudTrailEvent, humanCaller, imageScanEvent, scheduledEvent } from '../../scripts/lib/events';
import type { Incident } from '../../shared/model';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { runCli } from '../support/cli';
import { seedScannedImage } from '../support/ecr-images';
import { LocalResponder, resetAccount } from '../support/local-responder';

/**
 * image-findings-mitigated against moto: ECR repositories, images, their deletion and basic scan
 * findings are moto's (its configurable scan results). moto cannot seed Inspector (enhanced)
 * findings, fixes an image's scan result once read (a new finding for the same digest cannot be
 * staged: lowering the threshold brings one in instead), and its ECS tasks report no image digest,
 * so the tasks running an image (a deleted image still running), Inspector findings and a later
 * clean scan of the same digest are covered by the unit tests with the mocked SDK
 * (test/unit/rules/image-findings-mitigated.test.ts, test/unit/pipeline/mitigated-incidents.test.ts).
 */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const RULE = 'image-findings-mitigated';
const loadFunction = () => require('../../functions/image-findings-mitigated');

const critical = (name: string, pkg: string) => ({
  name,
  severity: 'CRITICAL' as const,
  attributes: [{ key: 'package_name', value: pkg }],
});

describe('image-findings-mitigated end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;
  let env: Record<string, string>;

  const stored = async (incidentId: string) =>
    (await responder.incidents()).find((incident) => incident.incidentId === incidentId) as Incident;

  async function vulnerableImage() {
    const digest = await seedScannedImage({
      region: REGION,
      repositoryName: 'claims/api',
      layer: `sha256:${'2'.repeat(64)}`,
      findings: [
        critical('CVE-2025-0001', 'openssl'),
        { name: 'CVE-2025-0002', severity: 'HIGH', attributes: [{ key: 'package_name', value: 'zlib' }] },
        { name: 'CVE-2025-0009', severity: 'LOW' },
      ],
    });
    const scan = () =>
      imageScanEvent({
        accountId: ACCOUNT,
        region: REGION,
        repositoryName: 'claims/api',
        digest,
        counts: { CRITICAL: 1, HIGH: 1, LOW: 1 },
      });
    return { digest, scan };
  }

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
    env = { INCIDENT_TABLE: responder.stack.tableName, AWS_REGION: REGION };
  });

  it('opens one incident per image digest, pages once, and changes nothing, however many scans report it', async () => {
    // Prepare
    const { digest, scan } = await vulnerableImage();
    // Act
    const first = await handle(scan());
    const again = await handle(scan());
    // Assess
    expect(first.outcomes).toEqual([
      expect.objectContaining({ compliance: 'NON_COMPLIANT', status: 'open' }),
    ]);
    expect(again.outcomes).toEqual([
      expect.objectContaining({ incidentId: first.outcomes[0]?.incidentId, status: 'open' }),
    ]);
    const incidents = await responder.incidents();
    expect(incidents).toEqual([
      expect.objectContaining({
        ruleId: RULE,
        resourceId: `claims/api@${digest}`,
        resourceArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/claims/api/${digest}`,
        status: 'open',
        evidence: expect.objectContaining({
          findings: 1,
          critical: 1,
          findingIds: 'CVE-2025-0001',
          packages: 'openssl',
          runningTasks: 0,
        }),
        steps: [],
      }),
    ]);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('incidents resolve --mitigation records the text, who and when, resolves it, alerts on-call, and shows it', async () => {
    // Prepare
    const { scan } = await vulnerableImage();
    const incidentId = String((await handle(scan())).outcomes[0]?.incidentId);
    await responder.alerts();
    const text = 'CHG-123: the TLS library is never reached (loopback only); rebuild on 2025-04-01';
    // Act
    const run = await runCli(['incidents', 'resolve', incidentId, '--mitigation', text], env);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^resolved inc-.+: mitigation recorded by arn:aws:.+; on-call alerted/m);
    // What it covers is printed before it is recorded
    expect(run.stdout.split('\n')[0]).toBe(
      `the mitigation of ${incidentId} covers 1 finding(s): CVE-2025-0001 (CRITICAL)`,
    );
    const incident = await stored(incidentId);
    expect(incident).toMatchObject({
      status: 'resolved',
      statusReason: expect.stringMatching(/^mitigation recorded by arn:aws:/),
      mitigation: {
        text,
        by: expect.stringMatching(/^arn:aws:/),
        at: expect.any(String),
        covers: [{ id: 'CVE-2025-0001', severity: 'CRITICAL' }],
      },
    });
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.attributes).toMatchObject({ ruleId: RULE, status: 'mitigated' });
    expect(alerts[0]?.body).toMatchObject({ incidentId, mitigation: text });
    // Assess: incidents show prints it
    const shown = await runCli(['incidents', 'show', incidentId], env);
    expect(shown.stdout).toContain(`mitigation: recorded by ${incident.mitigation?.by}`);
    expect(shown.stdout).toContain(text);
    expect(shown.stdout).toContain('covers: CVE-2025-0001 (CRITICAL)');
    // Assess: a later scan of the same digest joins the resolved incident: no new one, no page
    await handle(scan());
    expect(await responder.incidents()).toHaveLength(1);
    expect(await responder.alerts()).toEqual([]);
  });

  it('incidents resolve refuses, writing nothing, when a finding joins the incident between its read and its write', async () => {
    // Prepare: the person reads the incident (one CRITICAL finding); before the write, a scan at a
    // lower threshold brings CVE-2025-0002 into it, which the person never saw
    const { scan } = await vulnerableImage();
    const incidentId = String((await handle(scan())).outcomes[0]?.incidentId);
    await responder.alerts();
    const handleHigh = responder.handlerOf(loadFunction, { IMAGE_FINDINGS_SEVERITY: 'HIGH' });
    const printed: string[] = [];
    const io = { out: (line: string) => printed.push(line), err: (line: string) => printed.push(line) };
    const ctx = await createContext({}, io, { ...process.env, ...env });
    const racing = {
      ...ctx,
      caller: async () => {
        await handleHigh(scan());
        return ctx.caller();
      },
    };

    // Act
    const refused = await resolveIncident(racing, incidentId, 'CHG-9 openssl unreachable').catch(
      (error: unknown) => error,
    );

    // Assess: refused with a clear message (exit 1), nothing recorded, nobody paged
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).exitCode).toBe(1);
    expect((refused as CliError).message).toMatch(
      new RegExp(`incident ${incidentId} changed since it was read .*nothing was recorded`),
    );
    expect(printed.join('\n')).toContain('covers 1 finding(s): CVE-2025-0001 (CRITICAL)');
    const incident = await stored(incidentId);
    expect(incident.status).toBe('open');
    expect(incident.mitigation).toBeUndefined();
    expect(incident.findings?.map((finding) => finding.id)).toEqual(['CVE-2025-0001', 'CVE-2025-0002']);
    expect(await responder.alerts()).toEqual([]);

    // Act: run again, it shows both and records a mitigation covering both
    const again = await runCli(['incidents', 'resolve', incidentId, '--mitigation', 'CHG-9 both'], env);

    // Assess
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('covers 2 finding(s): CVE-2025-0001 (CRITICAL), CVE-2025-0002 (HIGH)');
    expect((await stored(incidentId)).mitigation?.covers).toHaveLength(2);
  });

  it('refuses a second mitigation, and a mitigation without text, changing nothing', async () => {
    // Prepare
    const { scan } = await vulnerableImage();
    const incidentId = String((await handle(scan())).outcomes[0]?.incidentId);
    await runCli(['incidents', 'resolve', incidentId, '--mitigation', 'CHG-1 first'], env);
    await responder.alerts();
    // Act
    const second = await runCli(['incidents', 'resolve', incidentId, '--mitigation', 'CHG-2 second'], env);
    const empty = await runCli(['incidents', 'resolve', incidentId], env);
    // Assess
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('already has a mitigation');
    expect(empty.code).toBe(2);
    expect((await stored(incidentId)).mitigation?.text).toBe('CHG-1 first');
    expect(await responder.alerts()).toEqual([]);
  });

  it('a finding the mitigation did not cover reopens the incident and pages once, naming it; it then takes a further mitigation', async () => {
    // Prepare: mitigated at the CRITICAL threshold (CVE-2025-0001), then the threshold goes down to
    // HIGH, which brings CVE-2025-0002 in: a finding the mitigation never covered
    const { scan } = await vulnerableImage();
    const incidentId = String((await handle(scan())).outcomes[0]?.incidentId);
    await runCli(['incidents', 'resolve', incidentId, '--mitigation', 'CHG-1 openssl unreachable'], env);
    await handle(scan());
    await responder.alerts();
    const handleHigh = responder.handlerOf(loadFunction, { IMAGE_FINDINGS_SEVERITY: 'HIGH' });

    // Act
    const reopened = await handleHigh(scan());
    const again = await handleHigh(scan());

    // Assess: open again, the move recorded (who, why), one page naming the new finding only
    expect(reopened.outcomes).toEqual([expect.objectContaining({ incidentId, status: 'open' })]);
    expect(again.outcomes).toEqual([expect.objectContaining({ incidentId, status: 'open' })]);
    const incident = await stored(incidentId);
    expect(incident.transitions?.at(-1)).toMatchObject({
      from: 'resolved',
      to: 'open',
      by: expect.stringContaining(RULE),
      reason: expect.stringContaining('CVE-2025-0002 (HIGH)'),
    });
    expect(incident.statusReason).not.toContain('CVE-2025-0001');
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.attributes).toMatchObject({ ruleId: RULE, status: 'open' });
    expect(JSON.stringify(alerts[0]?.body)).toContain('CVE-2025-0002');

    // Act: a person documents the new finding too
    const second = await runCli(
      ['incidents', 'resolve', incidentId, '--mitigation', 'CHG-2 zlib patched in place'],
      env,
    );

    // Assess: the earlier mitigation is kept, the new one covers both
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(await stored(incidentId)).toMatchObject({
      status: 'resolved',
      mitigation: {
        text: 'CHG-2 zlib patched in place',
        covers: [
          { id: 'CVE-2025-0001', severity: 'CRITICAL' },
          { id: 'CVE-2025-0002', severity: 'HIGH' },
        ],
      },
      earlierMitigations: [expect.objectContaining({ text: 'CHG-1 openssl unreachable' })],
    });
  });

  it('a deletion (BatchDeleteImage) re-judges the image at once: run by no task, the incident closes', async () => {
    // Prepare
    const { digest, scan } = await vulnerableImage();
    const incidentId = String((await handle(scan())).outcomes[0]?.incidentId);
    const ecr = new ECRClient({ region: REGION });
    const deleted = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'claims/api', imageIds: [{ imageDigest: digest }] }),
    );
    const call = cloudTrailEvent({
      eventName: 'BatchDeleteImage',
      eventSource: 'ecr.amazonaws.com',
      region: REGION,
      caller: humanCaller(ACCOUNT),
      requestParameters: { repositoryName: 'claims/api', imageIds: [{ imageDigest: digest }] },
      responseElements: { imageIds: deleted.imageIds ?? [], failures: [] },
    });

    // Act
    const result = await handle(call);

    // Assess
    expect(result.outcomes).toEqual([
      expect.objectContaining({ resourceId: `claims/api@${digest}`, compliance: 'COMPLIANT' }),
    ]);
    expect(await stored(incidentId)).toMatchObject({
      status: 'resolved',
      statusReason: `Image claims/api@${digest} deleted from claims/api; no ECS task in ${REGION} runs it (EKS, Lambda, other regions and hosts not read)`,
      transitions: expect.arrayContaining([expect.objectContaining({ from: 'open', to: 'resolved' })]),
    });
    // Ended by a narrow read: it pages once, and a repeated delivery does not page again.
    await handle(call);
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(2);
    expect(alerts[1]?.subject).toMatch(/resolved/);
  });

  it('the sweep re-judges the incident of an image deleted without an event reaching it: it closes', async () => {
    // Prepare
    const { digest, scan } = await vulnerableImage();
    const incidentId = String((await handle(scan())).outcomes[0]?.incidentId);
    await new ECRClient({ region: REGION }).send(
      new BatchDeleteImageCommand({ repositoryName: 'claims/api', imageIds: [{ imageDigest: digest }] }),
    );

    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));

    // Assess: the opening page, then the closing one naming what was not read
    expect(await stored(incidentId)).toMatchObject({
      status: 'resolved',
      statusReason: expect.stringContaining('(EKS, Lambda, other regions and hosts not read)'),
    });
    expect(await responder.alerts()).toHaveLength(2);
  });
});
