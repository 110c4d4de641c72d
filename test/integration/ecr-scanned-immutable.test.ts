import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
  PutRegistryScanningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { cloudTrailEvent, humanCaller, roleCaller } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const loadFunction = () => require('../../functions/ecr-scanned-immutable');
const ecr = () => new ECRClient({ region: REGION });

const repositoryOf = async (repositoryName: string) =>
  (await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] })))
    .repositories?.[0];

const repositoryCall = (eventName: string, repositoryName: string) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'ecr.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT),
    requestParameters: { repositoryName },
  });

const registryCall = (caller = humanCaller(ACCOUNT)) =>
  cloudTrailEvent({
    eventName: 'PutRegistryScanningConfiguration',
    eventSource: 'ecr.amazonaws.com',
    region: REGION,
    caller,
    requestParameters: { scanType: 'ENHANCED' },
  });

describe('ecr-scanned-immutable end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('makes a new repository’s mutable tags immutable, verified by a read, with the previous setting as the undo', async () => {
    // Prepare: moto's registry is BASIC without rules, so the repository's own scan on push counts
    await ecr().send(
      new CreateRepositoryCommand({
        repositoryName: 'claims',
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    // Act
    const result = await handle(repositoryCall('CreateRepository', 'claims'));
    // Assess
    expect((await repositoryOf('claims'))?.imageTagMutability).toBe('IMMUTABLE');
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'ecr-scanned-immutable',
      resourceArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/claims`,
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      evidence: { tagMutability: 'MUTABLE', scanned: true },
      steps: [
        {
          action: 'PutImageTagMutability',
          result: 'succeeded',
          undo: {
            service: 'ecr',
            action: 'PutImageTagMutability',
            input: { repositoryName: 'claims', imageTagMutability: 'MUTABLE', Region: REGION },
          },
        },
        { action: 'Verify', result: 'succeeded' },
      ],
    });
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
  });

  it('leaves the configured exclusions mutable: IMMUTABLE_WITH_EXCLUSION as moto stores it', async () => {
    // Prepare
    handle = responder.handlerOf(loadFunction, { ECR_TAG_EXCLUSIONS: 'latest' });
    await ecr().send(
      new CreateRepositoryCommand({
        repositoryName: 'claims',
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    // Act
    await handle(repositoryCall('PutImageTagMutability', 'claims'));
    // Assess
    expect(await repositoryOf('claims')).toMatchObject({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
    });
  });

  it('judges every repository of the region when the registry scanning changes, naming the rule to add and changing no scanning', async () => {
    // Prepare: enhanced scanning of prod-* only; both repositories already have immutable tags
    for (const repositoryName of ['claims', 'prod-api']) {
      await ecr().send(new CreateRepositoryCommand({ repositoryName, imageTagMutability: 'IMMUTABLE' }));
    }
    const rules = [
      {
        scanFrequency: 'SCAN_ON_PUSH' as const,
        repositoryFilters: [{ filter: 'prod-*', filterType: 'WILDCARD' as const }],
      },
    ];
    await ecr().send(new PutRegistryScanningConfigurationCommand({ scanType: 'ENHANCED', rules }));
    // Act
    const result = await handle(registryCall());
    // Assess
    expect(result.outcomes.map((outcome) => [outcome.resourceId, outcome.compliance])).toEqual(
      expect.arrayContaining([
        ['claims', 'NON_COMPLIANT'],
        ['prod-api', 'COMPLIANT'],
      ]),
    );
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      resourceId: 'claims',
      status: 'open',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      evidence: {
        scanned: false,
        registryScanType: 'ENHANCED',
        registryRuleToAdd:
          '{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"claims","filterType":"WILDCARD"}]}',
      },
      steps: [],
    });
    const registry = await ecr().send(new GetRegistryScanningConfigurationCommand({}));
    expect(registry.scanningConfiguration?.rules).toEqual(rules);
  });

  it('ignores a registry change made by the responder’s own role (loop guard)', async () => {
    // Prepare
    await ecr().send(
      new CreateRepositoryCommand({ repositoryName: 'claims', imageTagMutability: 'MUTABLE' }),
    );
    // Act
    const result = await handle(registryCall(roleCaller(responder.responderRoleArn)));
    // Assess
    expect(result.outcomes).toEqual([]);
    expect(await responder.incidents()).toEqual([]);
    expect((await repositoryOf('claims'))?.imageTagMutability).toBe('MUTABLE');
  });

  it('sweeps every repository: the scheduled run finds and fixes mutable tags', async () => {
    // Prepare
    await ecr().send(
      new CreateRepositoryCommand({
        repositoryName: 'claims',
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    // Act
    const result = await handle({
      version: '0',
      id: 'a8b1c2d3-0000-4000-8000-000000000001',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: ACCOUNT,
      time: '2026-01-01T00:00:00Z',
      region: REGION,
      resources: [],
      detail: {},
    });
    // Assess
    expect(result.outcomes).toEqual([
      expect.objectContaining({ resourceId: 'claims', status: 'remediated' }),
    ]);
    expect((await repositoryOf('claims'))?.imageTagMutability).toBe('IMMUTABLE');
  });
});
