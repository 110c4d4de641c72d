import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  StartLoggingCommand,
  type Trail,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import * as ownCalls from '../../../shared/aws/own-calls';
import { RemediationDeclined } from '../../../shared/errors';
import { cloudtrailLoggingOn as rule } from '../../../shared/rules/cloudtrail-logging-on';
import { actionsOf, type Loaded } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/audit`;
const ref = (resourceId: string, region = 'us-east-1') => ({
  resourceType: 'AWS::CloudTrail::Trail',
  resourceId,
  region,
  accountId: ACCOUNT,
});

const healthyTrail: Trail = {
  Name: 'audit',
  TrailARN: ARN,
  HomeRegion: 'us-east-1',
  IsMultiRegionTrail: true,
  LogFileValidationEnabled: true,
  IsOrganizationTrail: false,
};

/** Drift the rule must act on, or a failed test. */
function findingOf(loaded: Loaded<unknown> | undefined) {
  const verdict = loaded && rule.detect(loaded, testSettings());
  if (!loaded || !verdict || verdict.compliant) throw new Error('expected drift');
  return { loaded, finding: verdict };
}

describe('rule cloudtrail-logging-on', () => {
  const cloudtrail = mockClient(CloudTrailClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => {
    cloudtrail.reset();
    cloudtrail.on(ListTagsCommand).resolves({ ResourceTagList: [{ ResourceId: ARN, TagsList: [] }] });
  });
  afterEach(() => sent.collect('CloudTrailClient', cloudtrail));
  afterAll(() => cloudtrail.restore());

  it('reads a trail named by an event in that region, and its status and tags in its home region', async () => {
    // Prepare: a multi-region trail homed in us-east-1, seen from us-west-2
    cloudtrail.on(GetTrailCommand).resolves({ Trail: healthyTrail });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: false });
    cloudtrail.on(ListTagsCommand).resolves({
      ResourceTagList: [{ ResourceId: ARN, TagsList: [{ Key: 'team', Value: 'security' }] }],
    });
    // Act
    const loaded = await rule.load(ref('audit', 'us-west-2'), aws, testSettings());
    // Assess
    expect(loaded).toMatchObject({
      resourceId: 'audit',
      arn: ARN,
      region: 'us-east-1',
      tags: { team: 'security' },
      state: { exists: true, isLogging: false, logFileValidation: true, multiRegion: true },
    });
    expect(await cloudtrail.commandCalls(GetTrailCommand)[0]?.thisValue.config.region()).toBe('us-west-2');
    expect(await cloudtrail.commandCalls(GetTrailStatusCommand)[0]?.thisValue.config.region()).toBe(
      'us-east-1',
    );
    expect(cloudtrail).toHaveReceivedCommandWith(GetTrailStatusCommand, { Name: ARN });
  });

  // moto 5.2.1's GetTrail leaves HomeRegion out; the ARN names it.
  it("takes the home region from the trail's ARN, and reads a trail named by ARN in the ARN's region", async () => {
    // Prepare
    const westArn = `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/eu-audit`;
    cloudtrail.on(GetTrailCommand).resolves({ Trail: { Name: 'eu-audit', TrailARN: westArn } });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    // Act
    const loaded = await rule.load(ref(westArn, 'us-east-1'), aws, testSettings());
    // Assess
    expect(loaded).toMatchObject({ resourceId: 'eu-audit', region: 'eu-west-1', arn: westArn });
    expect(await cloudtrail.commandCalls(GetTrailCommand)[0]?.thisValue.config.region()).toBe('eu-west-1');
  });

  it('finds drift when the trail is not logging, and plans to start it in its home region', async () => {
    // Prepare
    cloudtrail.on(GetTrailCommand).resolves({ Trail: healthyTrail });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: false });
    // Act
    const verdict = rule.detect(
      (await rule.load(ref('audit'), aws, testSettings())) as Loaded<unknown>,
      testSettings(),
    );
    // Assess
    expect(verdict).toEqual({
      compliant: false,
      reason: 'CloudTrail trail audit: logging is stopped',
      evidence: {
        trailExists: true,
        isLogging: false,
        logFileValidation: true,
        multiRegion: true,
        organizationTrail: false,
        homeRegion: 'us-east-1',
      },
      plan: 'StartLogging in us-east-1',
    });
  });

  it('is compliant when the trail logs, validates its log files and covers every region', async () => {
    // Prepare
    cloudtrail.on(GetTrailCommand).resolves({ Trail: healthyTrail });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    // Act
    const loaded = await rule.load(ref('audit'), aws, testSettings());
    // Assess
    expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
  });

  it('starts a stopped trail in its home region, by name, with StopLogging as the undo', async () => {
    // Prepare
    cloudtrail.on(GetTrailCommand).resolves({ Trail: healthyTrail });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: false });
    cloudtrail.on(StartLoggingCommand).resolves({});
    const { loaded, finding } = findingOf(await rule.load(ref('audit', 'us-west-2'), aws, testSettings()));
    const { context, steps } = recordingContext(aws, testSettings());
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    expect(cloudtrail).toHaveReceivedCommandWith(StartLoggingCommand, { Name: 'audit' });
    expect(await cloudtrail.commandCalls(StartLoggingCommand)[0]?.thisValue.config.region()).toBe(
      'us-east-1',
    );
    expect(cloudtrail).toHaveReceivedCommandTimes(UpdateTrailCommand, 0);
    expect(steps).toEqual([
      {
        action: 'StartLogging',
        undo: { service: 'cloudtrail', action: 'StopLogging', input: { Name: ARN, Region: 'us-east-1' } },
      },
    ]);
  });

  it('turns log file validation and multi-region back on in one UpdateTrail whose undo restores both', async () => {
    // Prepare
    cloudtrail
      .on(GetTrailCommand)
      .resolves({ Trail: { ...healthyTrail, IsMultiRegionTrail: false, LogFileValidationEnabled: false } });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    cloudtrail.on(UpdateTrailCommand).resolves({ LogFileValidationEnabled: true, IsMultiRegionTrail: true });
    const { loaded, finding } = findingOf(await rule.load(ref('audit'), aws, testSettings()));
    const { context, steps } = recordingContext(aws, testSettings());
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    expect(finding.reason).toBe(
      'CloudTrail trail audit: log file validation is off, it records its home region only',
    );
    expect(cloudtrail).toHaveReceivedCommandWith(UpdateTrailCommand, {
      Name: 'audit',
      EnableLogFileValidation: true,
      IsMultiRegionTrail: true,
    });
    expect(cloudtrail).toHaveReceivedCommandTimes(StartLoggingCommand, 0);
    expect(steps.map((step) => step.undo)).toEqual([
      {
        service: 'cloudtrail',
        action: 'UpdateTrail',
        input: { Name: ARN, Region: 'us-east-1', EnableLogFileValidation: false, IsMultiRegionTrail: false },
      },
    ]);
  });

  it('sends UpdateTrail only through its shape: a refused request is never sent', async () => {
    // Prepare: the shape refuses (as it would a bucket or a key), whatever the code built
    cloudtrail.on(GetTrailCommand).resolves({ Trail: { ...healthyTrail, LogFileValidationEnabled: false } });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    const refuse = jest.spyOn(ownCalls, 'refuseOutsideShape').mockImplementation(() => {
      throw new ownCalls.RequestOutsideShapeError('UpdateTrail', ['S3BucketName']);
    });
    const { loaded, finding } = findingOf(await rule.load(ref('audit'), aws, testSettings()));
    const { context } = recordingContext(aws, testSettings());
    try {
      // Act
      const remediation = rule.remediate(loaded, finding, context);
      // Assess
      await expect(remediation).rejects.toThrow(ownCalls.RequestOutsideShapeError);
      expect(refuse).toHaveBeenCalledWith(ownCalls.OwnCall.UpdateTrail, {
        Name: 'audit',
        EnableLogFileValidation: true,
      });
      expect(cloudtrail).toHaveReceivedCommandTimes(UpdateTrailCommand, 0);
    } finally {
      refuse.mockRestore();
    }
  });

  it('reads a deleted trail as drift, not as gone, so that DeleteTrail pages', async () => {
    // Prepare
    cloudtrail
      .on(GetTrailCommand)
      .rejects(Object.assign(new Error('Unknown trail'), { name: 'TrailNotFoundException' }));
    // Act
    const loaded = await rule.load(ref(ARN, 'us-east-1'), aws, testSettings());
    // Assess
    expect(loaded).toEqual({
      resourceType: 'AWS::CloudTrail::Trail',
      resourceId: 'audit',
      arn: ARN,
      region: 'us-east-1',
      accountId: ACCOUNT,
      tags: {},
      state: { exists: false },
    });
    expect(loaded && rule.detect(loaded, testSettings())).toMatchObject({
      compliant: false,
      reason: 'CloudTrail trail audit was deleted: API activity is no longer recorded through it',
      evidence: { trailExists: false },
    });
  });

  it.each([
    ['off', {}, 'trail deleted; recreating is off (RECREATE_DELETED_TRAIL)'],
    ['on', { RECREATE_DELETED_TRAIL: 'true' }, 'cannot recreate it faithfully'],
  ])(
    'declines to recreate a deleted trail when RECREATE_DELETED_TRAIL is %s, changing nothing',
    async (_flag, env, words) => {
      // Prepare
      const settings = testSettings(env);
      cloudtrail
        .on(GetTrailCommand)
        .rejects(Object.assign(new Error('Unknown trail'), { name: 'TrailNotFoundException' }));
      const { loaded, finding } = findingOf(await rule.load(ref('audit'), aws, settings));
      const { context, steps } = recordingContext(aws, settings);
      // Act
      const remediation = rule.remediate(loaded, finding, context);
      // Assess
      await expect(remediation).rejects.toThrow(RemediationDeclined);
      await expect(remediation).rejects.toThrow(words);
      expect(steps).toEqual([]);
    },
  );

  it('sweeps only the trails homed in the swept region', async () => {
    // Prepare
    const shadow: Trail = { ...healthyTrail, Name: 'elsewhere', HomeRegion: 'eu-west-1' };
    cloudtrail.on(DescribeTrailsCommand).resolves({ trailList: [healthyTrail, shadow] });
    cloudtrail.on(GetTrailStatusCommand).resolves({ IsLogging: false });
    // Act
    const swept: Loaded<unknown>[] = [];
    for await (const trail of rule.list({ accountId: ACCOUNT, region: 'us-east-1' }, aws, testSettings())) {
      swept.push(trail);
    }
    // Assess
    expect(swept.map((trail) => trail.resourceId)).toEqual(['audit']);
    expect(cloudtrail).toHaveReceivedCommandWith(DescribeTrailsCommand, { includeShadowTrails: false });
  });

  it('lets a throttled read fail instead of reporting a trail gone or compliant', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    cloudtrail.on(GetTrailCommand).rejects(throttled);
    cloudtrail.on(DescribeTrailsCommand).rejects(throttled);
    const sweep = async () => {
      for await (const _ of rule.list({ accountId: ACCOUNT, region: 'us-east-1' }, aws, testSettings())) {
        // drain
      }
    };
    // Act / Assess
    await expect(rule.load(ref('audit'), aws, testSettings())).rejects.toThrow('Rate exceeded');
    await expect(sweep()).rejects.toThrow('Rate exceeded');
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
