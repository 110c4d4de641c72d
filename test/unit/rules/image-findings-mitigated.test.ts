import {
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type ImageScanFinding,
} from '@aws-sdk/client-ecr';
import { DescribeTasksCommand, ECSClient, ListClustersCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { imageFindingsMitigated as rule } from '../../../shared/rules/image-findings-mitigated';
import { actionsOf, type Finding } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

/**
 * moto cannot seed Inspector findings and starts no ECS tasks: enhanced findings and the tasks
 * running an image are mocked here (basic findings and images run against moto in
 * test/integration/image-findings-mitigated.test.ts).
 */
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const ref = {
  resourceType: 'AWS::ECR::Image',
  resourceId: `claims/api@${DIGEST}`,
  region: REGION,
  accountId: ACCOUNT,
};
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/phi`;

const basic = (name: string, severity: string, pkg: string): ImageScanFinding => ({
  name,
  severity: severity as ImageScanFinding['severity'],
  attributes: [{ key: 'package_name', value: pkg }],
});

describe('rule image-findings-mitigated', () => {
  const ecr = mockClient(ECRClient);
  const ecs = mockClient(ECSClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function givenImage(findings: ImageScanFinding[], status = 'COMPLETE') {
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ repositoryName: 'claims/api', imageDigest: DIGEST, imageTags: ['1.4.2'] }],
    });
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: status as 'COMPLETE' },
      imageScanFindings: { findings, findingSeverityCounts: { CRITICAL: findings.length } },
    });
  }

  function givenTasks(tasks: { id: string; digest: string; group?: string }[]) {
    ecs.on(ListClustersCommand).resolves({ clusterArns: [CLUSTER] });
    ecs.on(ListTasksCommand).resolves({
      taskArns: tasks.map((task) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/phi/${task.id}`),
    });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: tasks.map((task) => ({
        taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/phi/${task.id}`,
        group: task.group,
        containers: [{ name: 'app', imageDigest: task.digest }],
      })),
    });
  }

  beforeEach(() => {
    ecr.reset();
    ecs.reset();
    givenTasks([]);
  });
  afterEach(() => {
    sent.collect('ECRClient', ecr);
    sent.collect('ECSClient', ecs);
  });
  afterAll(() => {
    ecr.restore();
    ecs.restore();
  });

  it('finds a critical finding of a basic scan, naming the service and tasks that run the image', async () => {
    // Prepare
    givenImage([basic('CVE-2025-0001', 'CRITICAL', 'openssl'), basic('CVE-2025-0002', 'HIGH', 'zlib')]);
    givenTasks([
      { id: 't1', digest: DIGEST, group: 'service:claims-api' },
      { id: 't2', digest: DIGEST, group: 'service:claims-api' },
      { id: 't3', digest: `sha256:${'cd'.repeat(32)}` },
    ]);

    // Act
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);

    // Assess
    expect(loaded?.arn).toBe(`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/claims/api/${DIGEST}`);
    expect(verdict).toMatchObject({
      compliant: false,
      evidence: {
        findings: 1,
        critical: 1,
        findingIds: 'CVE-2025-0001',
        packages: 'openssl',
        services: 'phi/claims-api',
        runningTasks: 2,
        tasks: 'phi/t1,phi/t2',
      },
    });
    expect(verdict && !verdict.compliant && verdict.reason).toContain('phi/claims-api');
    expect(await ecr.call(0).thisValue.config.region()).toBe(REGION);
  });

  it('names each finding at or above the threshold by id and severity, for a mitigation to cover', async () => {
    // Prepare
    givenImage([
      basic('CVE-2025-0001', 'CRITICAL', 'openssl'),
      basic('CVE-2025-0003', 'CRITICAL', 'libxml2'),
      basic('CVE-2025-0002', 'HIGH', 'zlib'),
    ]);

    // Act
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);

    // Assess
    expect(verdict).toMatchObject({
      findings: [
        { id: 'CVE-2025-0001', severity: 'CRITICAL' },
        { id: 'CVE-2025-0003', severity: 'CRITICAL' },
      ],
    });
  });

  it("keeps the image's tags (the pusher's labels) out of the evidence and the reason", async () => {
    // Prepare: a tag is whatever the pusher wrote
    const tag = 'prod-Bearer-eyJhbGciOi-secret';
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ repositoryName: 'claims/api', imageDigest: DIGEST, imageTags: [tag, '1.4.2'] }],
    });
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findings: [basic('CVE-2025-0001', 'CRITICAL', 'openssl')] },
    });

    // Act
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);

    // Assess
    expect(verdict).toMatchObject({ compliant: false });
    expect(JSON.stringify(verdict)).not.toContain(tag);
    expect(JSON.stringify(verdict)).not.toContain('1.4.2');
    expect(JSON.stringify(loaded?.state)).not.toContain(tag);
  });

  it('counts only active Inspector findings at or above the configured severity', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'ACTIVE' },
      imageScanFindings: {
        enhancedFindings: [
          {
            findingArn: 'arn:aws:inspector2:eu-west-1:111122223333:finding/f1',
            severity: 'HIGH',
            status: 'ACTIVE',
            packageVulnerabilityDetails: {
              vulnerabilityId: 'CVE-2025-1000',
              vulnerablePackages: [{ name: 'glibc', version: '2.36' }],
            },
          },
          {
            severity: 'CRITICAL',
            status: 'CLOSED',
            packageVulnerabilityDetails: { vulnerabilityId: 'CVE-OLD' },
          },
          {
            severity: 'MEDIUM',
            status: 'ACTIVE',
            packageVulnerabilityDetails: { vulnerabilityId: 'CVE-LOW' },
          },
        ],
      },
    });
    const high = testSettings({ IMAGE_FINDINGS_SEVERITY: 'HIGH' });

    // Act
    const loaded = await rule.load(ref, aws, high);

    // Assess
    expect(loaded && rule.detect(loaded, high)).toMatchObject({
      compliant: false,
      evidence: { findings: 1, high: 1, findingIds: 'CVE-2025-1000', packages: 'glibc', runningTasks: 0 },
    });
    expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
  });

  it("records Inspector's own finding ids for Security Hub to link to: whole ids only, within the evidence bound", async () => {
    // Prepare: 12 active critical Inspector findings, ids of 32 characters (a few fit in 256)
    const ids = Array.from({ length: 12 }, (_, n) => n.toString(16).padStart(32, 'f'));
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'ACTIVE' },
      imageScanFindings: {
        enhancedFindings: ids.map((id, n) => ({
          findingArn: `arn:aws:inspector2:${REGION}:${ACCOUNT}:finding/${id}`,
          severity: 'CRITICAL',
          status: 'ACTIVE',
          packageVulnerabilityDetails: { vulnerabilityId: `CVE-2025-${1000 + n}` },
        })),
      },
    });

    // Act
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);

    // Assess
    const recorded = verdict && !verdict.compliant ? String(verdict.evidence.inspectorFindingIds) : '';
    expect(recorded.length).toBeLessThanOrEqual(256);
    expect(recorded.split(',')).toEqual([...ids].sort().slice(0, 7));
  });

  it('records no Inspector finding ids for a basic scan (it has none)', async () => {
    // Prepare
    givenImage([basic('CVE-2025-0001', 'CRITICAL', 'openssl')]);

    // Act
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);

    // Assess
    expect(verdict && !verdict.compliant && verdict.evidence).not.toHaveProperty('inspectorFindingIds');
  });

  it('is compliant once a later scan is clean', async () => {
    // Prepare
    givenImage([basic('CVE-2025-0002', 'HIGH', 'zlib')]);

    // Act
    const loaded = await rule.load(ref, aws, settings);

    // Assess
    expect(loaded && rule.detect(loaded, settings)).toEqual({ compliant: true });
  });

  it('reads every page of findings: a critical on the second page counts', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolvesOnce({
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: { findings: [basic('CVE-1', 'LOW', 'a')] },
        nextToken: 'page-2',
      })
      .resolvesOnce({
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: { findings: [basic('CVE-2', 'CRITICAL', 'b')] },
      });

    // Act
    const loaded = await rule.load(ref, aws, settings);

    // Assess
    expect(loaded && rule.detect(loaded, settings)).toMatchObject({ evidence: { findingIds: 'CVE-2' } });
  });

  it('judges nothing while no scan has completed (an open incident stays as it is)', async () => {
    // Prepare
    givenImage([], 'IN_PROGRESS');

    // Act / Assess
    expect(await rule.load(ref, aws, settings)).toBeUndefined();
  });

  it('says an image deleted while a task still runs it is gone from the registry but running, and opens nothing by itself', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ImageNotFoundException' }));
    givenTasks([{ id: 't1', digest: DIGEST, group: 'service:claims-api' }]);

    // Act
    const loaded = await rule.load(ref, aws, settings);
    const verdict = loaded && rule.detect(loaded, settings);

    // Assess: its findings cannot be read any more, so it only updates an incident already open
    expect(loaded?.state).toMatchObject({ exists: false });
    expect(verdict).toMatchObject({
      compliant: false,
      updatesOnly: true,
      evidence: { imageDeleted: true, services: 'phi/claims-api', runningTasks: 1, tasks: 'phi/t1' },
    });
    expect(verdict && !verdict.compliant && verdict.reason).toMatch(
      /deleted from the registry but still running in 1 task\(s\) \(phi\/t1\) of 1 service\(s\) \(phi\/claims-api\)/,
    );
    expect(ecr).not.toHaveReceivedCommand(DescribeImageScanFindingsCommand);
  });

  it('is compliant when the image is deleted and no task runs it any more, saying how narrow that read was', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ImageNotFoundException' }));

    // Act
    const loaded = await rule.load(ref, aws, settings);

    // Assess
    expect(loaded?.state).toMatchObject({ exists: false });
    // Only ECS tasks of the image's region were read: the incident it ends says so and pages.
    expect(loaded && rule.detect(loaded, settings)).toEqual({
      compliant: true,
      endsIncident: `Image claims/api@${DIGEST} deleted from claims/api; no ECS task in ${REGION} runs it (EKS, Lambda, other regions and hosts not read)`,
    });
  });

  it('never turns a throttled read into "no findings"', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr
      .on(DescribeImageScanFindingsCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));

    // Act / Assess
    await expect(rule.load(ref, aws, settings)).rejects.toThrow('slow down');
  });

  it('judges only the repositories in scope', async () => {
    // Prepare
    givenImage([basic('CVE-2025-0001', 'CRITICAL', 'openssl')]);
    const other = testSettings({ IMAGE_FINDINGS_REPOSITORIES: 'billing/*,phi-*' });

    // Act / Assess
    expect(await rule.load(ref, aws, other)).toBeUndefined();
    expect(
      await rule.load(ref, aws, testSettings({ IMAGE_FINDINGS_REPOSITORIES: 'claims/*' })),
    ).toBeDefined();
  });

  it('sweeps every scanned image, reading findings only where the summary counts some at the threshold', async () => {
    // Prepare
    const clean = `sha256:${'ef'.repeat(32)}`;
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'claims/api' }] });
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          imageDigest: DIGEST,
          imageScanStatus: { status: 'COMPLETE' },
          imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 1 } },
        },
        {
          imageDigest: clean,
          imageScanStatus: { status: 'COMPLETE' },
          imageScanFindingsSummary: { findingSeverityCounts: { LOW: 3 } },
        },
        { imageDigest: `sha256:${'01'.repeat(32)}` },
      ],
    });
    ecr.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findings: [basic('CVE-2025-0001', 'CRITICAL', 'openssl')] },
    });

    // Act
    const listed = [];
    for await (const image of rule.list({ accountId: ACCOUNT, region: REGION }, aws, settings))
      listed.push([image.resourceId, rule.detect(image, settings).compliant]);

    // Assess
    expect(listed).toEqual([
      [`claims/api@${DIGEST}`, false],
      [`claims/api@${clean}`, true],
    ]);
    expect(ecr).toHaveReceivedCommandTimes(DescribeImageScanFindingsCommand, 1);
  });

  it('only notifies: in enforce mode it declines and changes nothing', async () => {
    // Prepare
    givenImage([basic('CVE-2025-0001', 'CRITICAL', 'openssl')]);
    const loaded = await rule.load(ref, aws, settings);
    if (!loaded) throw new Error('expected the image');
    const finding: Finding = { compliant: false, reason: 'drift', evidence: {}, plan: 'none' };
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(rule.remediate(loaded, finding, context)).rejects.toBeInstanceOf(RemediationDeclined);
    expect(steps).toEqual([]);
  });

  it('may read Inspector findings through ECR: inspector2:ListFindings is declared (ECR user guide, enhanced scanning IAM)', () => {
    // Assess
    const statement = rule.permissions.find((candidate) =>
      candidate.actions.includes('inspector2:ListFindings'),
    );
    expect(statement).toBeDefined();
    expect(statement?.actions).toEqual(['inspector2:ListFindings']);
    // AWS checks it on ECR's call; the function never calls Inspector itself
    expect(statement?.checkedOn).toBe('ecr:DescribeImageScanFindings');
    expect(actionsOf(rule)).toContain(statement?.checkedOn);
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
