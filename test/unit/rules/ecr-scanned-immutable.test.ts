import {
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  type RegistryScanningConfiguration,
  type Repository,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { ecrScannedImmutable as rule } from '../../../shared/rules/ecr-scanned-immutable';
import { actionsOf, type Finding, type Loaded } from '../../../shared/rules/rule';
import { parseCloudTrailRecord } from '../../../shared/triggers/cloudtrail';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const ref = {
  resourceType: 'AWS::ECR::Repository',
  resourceId: 'payments',
  region: REGION,
  accountId: ACCOUNT,
};

const repository = (overrides: Partial<Repository> = {}): Repository => ({
  repositoryName: 'payments',
  repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/payments`,
  imageTagMutability: 'IMMUTABLE',
  imageScanningConfiguration: { scanOnPush: false },
  ...overrides,
});

/** An enhanced registry scanning every repository matching `filter` continuously. */
const enhanced = (
  filter: string,
  scanFrequency = 'CONTINUOUS_SCAN' as const,
): RegistryScanningConfiguration => ({
  scanType: 'ENHANCED',
  rules: [{ scanFrequency, repositoryFilters: [{ filter, filterType: 'WILDCARD' }] }],
});

describe('rule ecr-scanned-immutable', () => {
  const ecr = mockClient(ECRClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function given(repo: Repository, scanning: RegistryScanningConfiguration = enhanced('*')) {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo] });
    ecr
      .on(GetRegistryScanningConfigurationCommand)
      .resolves({ registryId: ACCOUNT, scanningConfiguration: scanning });
  }

  async function loaded(): Promise<Loaded<unknown>> {
    const found = await rule.load(ref, aws, settings);
    if (!found) throw new Error('expected the repository');
    return found;
  }

  beforeEach(() => ecr.reset());
  afterEach(() => sent.collect('ECRClient', ecr));
  afterAll(() => ecr.restore());

  it('reads the repository and its registry scanning in the region the event names', async () => {
    // Prepare
    given(repository());
    // Act
    const found = await loaded();
    // Assess
    expect(found).toMatchObject({
      resourceId: 'payments',
      arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/payments`,
    });
    expect(ecr).toHaveReceivedCommandWith(DescribeRepositoriesCommand, { repositoryNames: ['payments'] });
    expect(await ecr.call(0).thisValue.config.region()).toBe(REGION);
  });

  it('reads nothing when the repository is gone, and a throttled read throws', async () => {
    // Prepare
    ecr.on(GetRegistryScanningConfigurationCommand).resolves({ scanningConfiguration: enhanced('*') });
    ecr
      .on(DescribeRepositoriesCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'RepositoryNotFoundException' }));
    // Act / Assess
    expect(await rule.load(ref, aws, settings)).toBeUndefined();
    ecr
      .on(DescribeRepositoriesCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(rule.load(ref, aws, settings)).rejects.toThrow('slow down');
  });

  it('lists every repository of the region, reading the registry scanning once', async () => {
    // Prepare
    ecr.on(GetRegistryScanningConfigurationCommand).resolves({ scanningConfiguration: enhanced('*') });
    ecr
      .on(DescribeRepositoriesCommand)
      .resolvesOnce({ repositories: [repository()], nextToken: 'page-2' })
      .resolvesOnce({ repositories: [repository({ repositoryName: 'ledger' })] });
    // Act
    const listed: string[] = [];
    for await (const repo of rule.list({ accountId: ACCOUNT, region: REGION }, aws, settings))
      listed.push(repo.resourceId);
    // Assess
    expect(listed).toEqual(['payments', 'ledger']);
    expect(ecr).toHaveReceivedCommandTimes(GetRegistryScanningConfigurationCommand, 1);
  });

  it('passes a repository with immutable tags that a registry rule scans', async () => {
    // Prepare
    given(repository(), enhanced('pay*'));
    // Act / Assess
    expect(rule.detect(await loaded(), settings)).toEqual({ compliant: true });
  });

  it.each([
    ['MUTABLE', [], /tags are MUTABLE/],
    ['MUTABLE_WITH_EXCLUSION', ['release-*'], /tags are MUTABLE_WITH_EXCLUSION/],
    ['IMMUTABLE_WITH_EXCLUSION', ['*'], /tags matching \* stay mutable beyond the configured exclusions/],
  ])('finds %s tags (exclusions %j) drift', async (imageTagMutability, filters, reason) => {
    // Prepare
    given(
      repository({
        imageTagMutability: imageTagMutability as Repository['imageTagMutability'],
        imageTagMutabilityExclusionFilters: filters.map((filter) => ({ filter, filterType: 'WILDCARD' })),
      }),
    );
    // Act
    const verdict = rule.detect(await loaded(), settings);
    // Assess
    expect(verdict).toMatchObject({ compliant: false, reason: expect.stringMatching(reason) });
  });

  it('passes IMMUTABLE_WITH_EXCLUSION leaving mutable only the configured exclusions', async () => {
    // Prepare
    given(
      repository({
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
      }),
    );
    // Act / Assess
    expect(rule.detect(await loaded(), testSettings({ ECR_TAG_EXCLUSIONS: 'latest,dev-*' }))).toEqual({
      compliant: true,
    });
  });

  it.each([
    [
      'an enhanced rule whose filter does not match',
      enhanced('prod-*'),
      false,
      /no ENHANCED registry scanning rule \(of 1\) covers/,
    ],
    [
      'a MANUAL basic rule',
      {
        scanType: 'BASIC',
        rules: [{ scanFrequency: 'MANUAL', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }],
      },
      true,
      /no BASIC registry scanning rule/,
    ],
    [
      'basic scanning without rules and scan on push off',
      { scanType: 'BASIC', rules: [] },
      false,
      /basic scanning with no registry rule, and scan on push is off/,
    ],
  ] as const)('finds an unscanned repository: %s', async (_case, scanning, scanOnPush, reason) => {
    // Prepare: scan on push on the repository counts only on a basic registry without rules
    given(
      repository({ imageScanningConfiguration: { scanOnPush } }),
      scanning as RegistryScanningConfiguration,
    );
    // Act
    const verdict = rule.detect(await loaded(), settings);
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringMatching(reason),
      evidence: { scanned: false, registryRuleToAdd: expect.stringContaining('"filter":"payments"') },
      plan: expect.stringMatching(/^nothing automatic for scanning: add the registry scanning rule/),
    });
  });

  it('counts per-repository scan on push on a basic registry without rules', async () => {
    // Prepare
    given(repository({ imageScanningConfiguration: { scanOnPush: true } }), { scanType: 'BASIC', rules: [] });
    // Act / Assess
    expect(rule.detect(await loaded(), settings)).toEqual({ compliant: true });
  });

  it('names the continuous frequency when the enhanced registry already scans continuously', async () => {
    // Prepare
    given(repository(), enhanced('prod-*'));
    // Act
    const verdict = rule.detect(await loaded(), settings) as Finding;
    // Assess
    expect(JSON.parse(String(verdict.evidence.registryRuleToAdd))).toEqual({
      scanFrequency: 'CONTINUOUS_SCAN',
      repositoryFilters: [{ filter: 'payments', filterType: 'WILDCARD' }],
    });
  });

  it('makes mutable tags immutable (plain IMMUTABLE without exclusions) and keeps the previous setting as the undo', async () => {
    // Prepare
    given(repository({ imageTagMutability: 'MUTABLE' }));
    ecr.on(PutImageTagMutabilityCommand).resolves({ imageTagMutability: 'IMMUTABLE' });
    const resource = await loaded();
    const { context, steps } = recordingContext(aws, settings);
    // Act
    await rule.remediate(resource, rule.detect(resource, settings) as Finding, context);
    // Assess
    expect(ecr).toHaveReceivedCommandWith(PutImageTagMutabilityCommand, {
      repositoryName: 'payments',
      imageTagMutability: 'IMMUTABLE',
    });
    expect(ecr.commandCalls(PutImageTagMutabilityCommand)[0]?.args[0].input).not.toHaveProperty(
      'imageTagMutabilityExclusionFilters',
    );
    expect(steps).toEqual([
      {
        action: 'PutImageTagMutability',
        undo: {
          service: 'ecr',
          action: 'PutImageTagMutability',
          input: { repositoryName: 'payments', imageTagMutability: 'MUTABLE', Region: REGION },
        },
      },
    ]);
  });

  it('leaves the configured exclusions mutable (IMMUTABLE_WITH_EXCLUSION), and the undo restores the old exclusions', async () => {
    // Prepare
    const withLatest = testSettings({ ECR_TAG_EXCLUSIONS: 'latest' });
    given(
      repository({
        imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: 'release-*', filterType: 'WILDCARD' }],
      }),
    );
    const resource = await loaded();
    const { context, steps } = recordingContext(aws, withLatest);
    // Act
    await rule.remediate(resource, rule.detect(resource, withLatest) as Finding, context);
    // Assess
    expect(ecr).toHaveReceivedCommandWith(PutImageTagMutabilityCommand, {
      repositoryName: 'payments',
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
    });
    expect(steps[0]?.undo?.input).toEqual({
      repositoryName: 'payments',
      imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filter: 'release-*', filterType: 'WILDCARD' }],
      Region: REGION,
    });
  });

  it('never changes the registry scanning: it fixes the tags, then declines naming the rule to add', async () => {
    // Prepare
    given(repository({ imageTagMutability: 'MUTABLE' }), enhanced('prod-*'));
    const resource = await loaded();
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(
      rule.remediate(resource, rule.detect(resource, settings) as Finding, context),
    ).rejects.toThrow(RemediationDeclined);
    expect(steps.map((step) => step.action)).toEqual(['PutImageTagMutability']);
    expect(ecr.calls().map((call) => call.args[0].constructor.name)).not.toContain(
      'PutRegistryScanningConfigurationCommand',
    );
  });

  it('judges every repository of the region when the registry scanning changes (a sweep of the call region, as its actor)', () => {
    // Act
    const trigger = parseCloudTrailRecord({
      eventName: 'PutRegistryScanningConfiguration',
      eventSource: 'ecr.amazonaws.com',
      eventID: 'e3c6f4ce-0000-4000-8000-000000000001',
      eventTime: '2026-01-01T00:00:00Z',
      awsRegion: REGION,
      recipientAccountId: ACCOUNT,
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      requestParameters: { scanType: 'BASIC', rules: [] },
    });
    // Assess
    expect(trigger).toEqual({
      kind: 'sweep',
      sweep: expect.objectContaining({
        source: 'cloudtrail',
        eventName: 'PutRegistryScanningConfiguration',
        accountId: ACCOUNT,
        region: REGION,
        actor: expect.objectContaining({ arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` }),
      }),
    });
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
