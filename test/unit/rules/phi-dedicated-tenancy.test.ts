import * as Ec2 from '@aws-sdk/client-ec2';
import {
  CreateTagsCommand,
  DescribeAddressesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  EC2Client,
  ModifyInstancePlacementCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { INCIDENT_TAG, phiDedicatedTenancy as rule } from '../../../shared/rules/phi-dedicated-tenancy';
import { actionsOf, type Finding, type Loaded } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import {
  ec2ClientError,
  FAKE_INSTANCE_ID,
  type FakeInstanceSpec,
  fakeInstance,
} from '../../support/phi-dedicated-tenancy';
import { recordingContext } from '../../support/remediation';

// moto 5.2.1 ignores Placement.Tenancy on RunInstances (every instance reads `default`) and does not
// implement ModifyInstancePlacement, so tenancy detection and the whole retenancy path are covered
// here with aws-sdk-client-mock (a stateful fake instance); stop mode also runs against moto.

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const ref = {
  resourceType: 'AWS::EC2::Instance',
  resourceId: FAKE_INSTANCE_ID,
  region: REGION,
  accountId: ACCOUNT,
};
const INCIDENT_ID = 'inc-20261123T101500-0a1b2c3d';
const PHI = { phi: 'true', Name: 'patient-records-db' };
const ASG = {
  ...PHI,
  'aws:autoscaling:groupName': 'records-web-asg',
  'aws:ec2launchtemplate:id': 'lt-0123456789abcdef0',
  'aws:ec2launchtemplate:version': '7',
};

const settingsFor = (action: 'stop' | 'retenancy', env: Record<string, string> = {}) =>
  testSettings({ TENANCY_ACTION: action, PHI_SCOPE: 'tag:phi=true', ...env });

describe('rule phi-dedicated-tenancy', () => {
  const ec2 = mockClient(EC2Client);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => ec2.reset());
  afterEach(() => {
    sent.collect('EC2Client', ec2);
    jest.useRealTimers();
  });
  afterAll(() => ec2.restore());

  const loadFake = async (spec: FakeInstanceSpec, action: 'stop' | 'retenancy' = 'stop') => {
    const instance = fakeInstance(ec2, Ec2, spec);
    const settings = settingsFor(action);
    const loaded = await rule.load(ref, aws, settings);
    if (!loaded) throw new Error('expected the instance to load');
    return { instance, settings, loaded };
  };

  const drift = (loaded: Loaded<unknown>, settings: ReturnType<typeof settingsFor>): Finding => {
    const verdict = rule.detect(loaded, settings);
    if (verdict.compliant) throw new Error('expected drift');
    return verdict;
  };

  const writes = () =>
    ec2
      .calls()
      .map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name)
      .filter((name) => !name.startsWith('Describe'));

  describe('load, list and detect', () => {
    describe('an instance leaving the PHI scope', () => {
      // The facts the instance type's CreateTags/DeleteTags mapping gives (keys only, never values).
      const tagCall = (eventName: string, tagKeys?: string[]) => ({
        ...ref,
        eventName,
        callFacts: {
          tagChange: eventName === 'DeleteTags' ? 'remove' : 'set',
          ...(tagKeys !== undefined && { tagKeys: JSON.stringify(tagKeys) }),
        },
      });
      const { phi: _phi, ...withoutPhi } = PHI;

      it.each([
        ['DeleteTags', ['phi'], withoutPhi, 'removed'],
        ['DeleteTags', undefined, {}, 'removed'],
        ['CreateTags', ['phi'], { ...PHI, phi: 'false' }, 'set to a value outside the scope'],
      ])(
        'records %s of the scope tag (%j) as drift, confirmed by the read, and never remediates it',
        async (eventName, keys, tags, how) => {
          // Prepare: someone takes the instance out of scope, on shared tenancy
          fakeInstance(ec2, Ec2, { tags });
          const settings = settingsFor('stop');
          // Act
          const loaded = await rule.load(tagCall(eventName, keys), aws, settings);
          if (!loaded) throw new Error('expected the instance to load');
          const verdict = drift(loaded, settings);
          const remediation = rule.remediate(
            loaded,
            verdict,
            recordingContext(aws, settings, INCIDENT_ID).context,
          );
          // Assess
          expect(verdict.reason).toContain(`its phi tag was ${how} (${eventName})`);
          expect(verdict.evidence).toMatchObject({
            leftScopeBy: eventName,
            scope: 'tag:phi',
            scopeSetting: 'phiScope',
          });
          expect(JSON.stringify(verdict)).not.toContain('patient-records-db');
          await expect(remediation).rejects.toBeInstanceOf(RemediationDeclined);
          expect(writes()).toEqual([]);
        },
      );

      const OUT = { compliant: true, outOfScope: 'out of scope (phiScope tag:phi): not judged' };
      it.each([
        ['DeleteTags of another key', tagCall('DeleteTags', ['Name']), withoutPhi, OUT],
        [
          'a removal the read contradicts (tag put back)',
          tagCall('DeleteTags', ['phi']),
          PHI,
          { compliant: true },
        ],
        ['a launch of an out-of-scope instance', { ...ref, eventName: 'RunInstances' }, withoutPhi, OUT],
        ['no call at all (the sweep)', ref, withoutPhi, OUT],
      ])('finds nothing for %s', async (_case, callRef, tags, expected) => {
        // Prepare
        fakeInstance(ec2, Ec2, { tags, tenancy: 'dedicated' });
        const settings = settingsFor('stop');
        // Act
        const loaded = await rule.load(callRef, aws, settings);
        // Assess
        expect(loaded && rule.detect(loaded, settings)).toEqual(expected);
      });
    });

    it('reads the instance in the region the event names, with its tags, ARN and placement', async () => {
      // Prepare
      fakeInstance(ec2, Ec2, { tags: PHI, tenancy: 'dedicated' });
      // Act
      const loaded = await rule.load(ref, aws, settingsFor('stop'));
      // Assess
      expect(loaded).toMatchObject({
        arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${FAKE_INSTANCE_ID}`,
        tags: PHI,
        state: { instanceState: 'running', tenancy: 'dedicated', instanceType: 't3.large', stop: undefined },
      });
      expect(await ec2.call(0).thisValue.config.region()).toBe(REGION);
    });

    it.each(['terminated', 'shutting-down'] as const)('treats a %s instance as gone', async (state) => {
      // Prepare
      fakeInstance(ec2, Ec2, { tags: PHI, state });
      // Act / Assess
      expect(await rule.load(ref, aws, settingsFor('stop'))).toBeUndefined();
    });

    it('treats an instance EC2 no longer knows as gone, and lets any other read error through', async () => {
      // Prepare
      ec2
        .on(DescribeInstancesCommand)
        .rejectsOnce(ec2ClientError(Ec2, 'InvalidInstanceID.NotFound', 'not found'))
        .rejects(ec2ClientError(Ec2, 'RequestLimitExceeded', 'Request limit exceeded.'));
      // Act / Assess
      expect(await rule.load(ref, aws, settingsFor('stop'))).toBeUndefined();
      await expect(rule.load(ref, aws, settingsFor('stop'))).rejects.toThrow('Request limit exceeded.');
    });

    // Tenancy detection: moto reads every instance as `default`, so only the mock can show the others.
    it.each([
      ['a PHI instance running on shared tenancy', { tags: PHI }, 'stop', false],
      ['a PHI instance running on dedicated tenancy', { tags: PHI, tenancy: 'dedicated' }, 'stop', true],
      ['a PHI instance on a Dedicated Host', { tags: PHI, tenancy: 'host' }, 'retenancy', true],
      ['an instance outside the PHI scope', { tags: { phi: 'false' } }, 'stop', true],
      ['an untagged instance', {}, 'retenancy', true],
      ['a pending PHI instance on shared tenancy', { tags: PHI, state: 'pending' }, 'stop', false],
      ['a stopped PHI instance under lock-down (contained)', { tags: PHI, state: 'stopped' }, 'stop', true],
      ['a stopping PHI instance under lock-down (contained)', { tags: PHI, state: 'stopping' }, 'stop', true],
      ['a stopped PHI instance under retenancy', { tags: PHI, state: 'stopped' }, 'retenancy', false],
      ['an Auto Scaling PHI instance on shared tenancy', { tags: ASG }, 'stop', false],
    ] as const)('judges %s', async (_case, spec, action, compliant) => {
      // Prepare
      const { loaded, settings } = await loadFake(spec, action);
      // Act
      const verdict = rule.detect(loaded, settings);
      // Assess
      expect(verdict.compliant).toBe(compliant);
    });

    it('covers every instance when the PHI scope is all', async () => {
      // Prepare
      fakeInstance(ec2, Ec2, {});
      const settings = testSettings({ PHI_SCOPE: 'all' });
      const loaded = await rule.load(ref, aws, settings);
      // Act
      const verdict = loaded && rule.detect(loaded, settings);
      // Assess
      expect(verdict).toMatchObject({ compliant: false, evidence: { phiScope: 'all' } });
    });

    it('reads what a stop would cost only for PHI instances running on shared tenancy', async () => {
      // Prepare
      fakeInstance(ec2, Ec2, { tags: { phi: 'no' } });
      await rule.load(ref, aws, settingsFor('stop'));
      fakeInstance(ec2, Ec2, { tags: PHI, tenancy: 'dedicated' });
      await rule.load(ref, aws, settingsFor('stop'));
      fakeInstance(ec2, Ec2, { tags: ASG });
      await rule.load(ref, aws, settingsFor('stop'));
      expect(ec2).toHaveReceivedCommandTimes(DescribeInstanceAttributeCommand, 0);
      // Act
      fakeInstance(ec2, Ec2, { tags: PHI, publicIp: '203.0.113.10' });
      const loaded = await rule.load(ref, aws, settingsFor('stop'));
      // Assess
      expect(ec2).toHaveReceivedCommandWith(DescribeInstanceAttributeCommand, {
        InstanceId: FAKE_INSTANCE_ID,
        Attribute: 'disableApiStop',
      });
      expect(ec2).toHaveReceivedCommandWith(DescribeAddressesCommand, {
        Filters: [{ Name: 'public-ip', Values: ['203.0.113.10'] }],
      });
      expect(loaded?.state).toMatchObject({
        stop: { hasPublicIp: true, publicIpIsElastic: false, disableApiStop: false, hasInstanceStore: false },
      });
    });

    it('gives bounded evidence without tag values, and names what a stop costs', async () => {
      // Prepare
      const { loaded, settings } = await loadFake({ tags: PHI, publicIp: '203.0.113.10' });
      // Act
      const finding = drift(loaded, settings);
      // Assess
      expect(finding.reason).toBe(
        `PHI instance ${FAKE_INSTANCE_ID} (t3.large) runs on shared tenancy in ${REGION}; policy requires dedicated hardware`,
      );
      expect(finding.evidence).toEqual({
        instanceState: 'running',
        tenancy: 'default',
        instanceType: 't3.large',
        phiScope: 'tag:phi',
        tenancyAction: 'stop',
        managedBy: null,
        rootDeviceType: 'ebs',
        hasInstanceStore: false,
        hasPublicIp: true,
        publicIpIsElastic: false,
        disableApiStop: false,
        instanceLifecycle: 'normal',
        spotRequestType: null,
      });
      expect(JSON.stringify(finding.evidence)).not.toContain('patient-records-db');
      expect(finding.plan).toBe(
        `Tag ${FAKE_INSTANCE_ID} ${INCIDENT_TAG}=<incident id> and stop it (its public IPv4 address is not an Elastic IP and will change); it stays on shared tenancy until it is moved`,
      );
    });

    it('says in the plan that an Auto Scaling instance is left alone, naming its group and launch template', async () => {
      // Prepare
      const { loaded, settings } = await loadFake({ tags: ASG });
      // Act
      const finding = drift(loaded, settings);
      // Assess
      expect(finding.evidence).toMatchObject({ managedBy: 'auto-scaling' });
      expect(JSON.stringify(finding.evidence)).not.toContain('records-web-asg');
      expect(finding.plan).toBe(
        `no change to ${FAKE_INSTANCE_ID}: it is managed by Auto Scaling group 'records-web-asg' (launch template lt-0123456789abcdef0 version 7), which would replace an instance the responder stopped: set tenancy dedicated in launch template lt-0123456789abcdef0 version 7 and replace its instances`,
      );
    });

    it('sweeps page by page with server-side filters, and fails instead of reporting nothing when throttled', async () => {
      // Prepare
      const page = (id: string) => ({
        InstanceId: id,
        State: { Name: 'stopped' as const },
        Placement: { Tenancy: 'default' as const },
        Tags: [{ Key: 'phi', Value: 'true' }],
      });
      ec2
        .on(DescribeInstancesCommand)
        .resolvesOnce({ Reservations: [{ Instances: [page('i-1')] }], NextToken: 'page-2' })
        .resolvesOnce({ Reservations: [{ Instances: [page('i-2')] }] })
        .rejects(ec2ClientError(Ec2, 'RequestLimitExceeded', 'Request limit exceeded.'));
      const scope = { accountId: ACCOUNT, region: REGION };
      const drain = async () => {
        const ids: string[] = [];
        for await (const loaded of rule.list(scope, aws, settingsFor('stop'))) ids.push(loaded.resourceId);
        return ids;
      };
      // Act
      const ids = await drain();
      // Assess
      expect(ids).toEqual(['i-1', 'i-2']);
      expect(ec2).toHaveReceivedNthCommandWith(1, DescribeInstancesCommand, {
        MaxResults: 1000,
        Filters: [
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
          { Name: 'tag:phi', Values: ['true'] },
        ],
      });
      expect(ec2).toHaveReceivedNthCommandWith(2, DescribeInstancesCommand, { NextToken: 'page-2' });
      await expect(drain()).rejects.toThrow('Request limit exceeded.');
    });

    it('narrows the sweep by tag key when the scope asks only that the tag be present (tag:<key>)', async () => {
      // Prepare
      ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
      const settings = testSettings({ PHI_SCOPE: 'tag:phi' });
      // Act
      for await (const _ of rule.list({ accountId: ACCOUNT, region: REGION }, aws, settings)) break;
      // Assess
      expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
        Filters: [
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
          { Name: 'tag-key', Values: ['phi'] },
        ],
      });
    });
  });

  describe('enforce with tenancyAction stop (lock-down)', () => {
    it('tags a running instance with its incident, then stops it; a re-read finds it contained', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake({ tags: PHI });
      const { context, steps, state } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      const progress = await rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      expect(progress).toBeUndefined();
      expect(instance.state).toBe('stopped');
      expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, {
        Resources: [FAKE_INSTANCE_ID],
        Tags: [{ Key: INCIDENT_TAG, Value: INCIDENT_ID }],
      });
      expect(steps).toEqual([
        {
          action: 'CreateTags',
          undo: {
            service: 'ec2',
            action: 'DeleteTags',
            input: {
              Resources: [FAKE_INSTANCE_ID],
              Tags: [{ Key: INCIDENT_TAG, Value: INCIDENT_ID }],
              Region: REGION,
            },
          },
        },
        {
          action: 'StopInstances',
          undo: {
            service: 'ec2',
            action: 'StartInstances',
            input: { InstanceIds: [FAKE_INSTANCE_ID], Region: REGION },
          },
        },
      ]);
      expect(state).toEqual({ wasRunning: true });
      expect(writes()).not.toContain('TerminateInstancesCommand');
      const after = await rule.load(ref, aws, settings);
      expect(after && rule.detect(after, settings)).toEqual({ compliant: true });
    });

    it('waits for a pending instance to reach running before it stops it (EC2 refuses otherwise)', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake({ tags: PHI, state: 'pending' });
      instance.state = 'running';
      const { context, steps } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      await rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      expect(steps.map((step) => step.action)).toEqual([
        'CreateTags',
        'WaitUntilInstanceRunning',
        'StopInstances',
      ]);
      expect(instance.state).toBe('stopped');
    });

    it('does nothing more to an instance that already stopped (a resumed run)', async () => {
      // Prepare
      const { settings, loaded } = await loadFake({ tags: PHI, state: 'stopped' });
      const { context, steps } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      await rule.remediate(loaded, { compliant: false, reason: 'r', evidence: {}, plan: 'finish' }, context);
      // Assess
      expect(steps).toEqual([]);
      expect(writes()).toEqual([]);
    });

    it('never stops an Auto Scaling instance: declines naming the group and its launch template', async () => {
      // Prepare
      const { settings, loaded } = await loadFake({ tags: ASG });
      const { context, steps } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      const remediation = rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      await expect(remediation).rejects.toThrow(RemediationDeclined);
      await expect(remediation).rejects.toThrow(
        `${FAKE_INSTANCE_ID} was not changed: it is managed by Auto Scaling group 'records-web-asg' (launch template lt-0123456789abcdef0 version 7)`,
      );
      expect(steps).toEqual([]);
      expect(writes()).toEqual([]);
    });

    it.each([
      [
        'an EKS node',
        { 'eks:nodegroup-name': 'ng-1', 'aws:autoscaling:groupName': 'eks-ng-1' },
        "EKS node group 'ng-1' (Auto Scaling group 'eks-ng-1')",
      ],
      ['a Karpenter node', { 'karpenter.sh/nodepool': 'general' }, "Karpenter node pool 'general'"],
      [
        'an older Karpenter node',
        { 'karpenter.sh/provisioner-name': 'default' },
        "Karpenter node pool 'default'",
      ],
      ['an EMR node', { 'aws:elasticmapreduce:job-flow-id': 'j-1ABC' }, "EMR cluster 'j-1ABC'"],
      [
        'a Beanstalk instance',
        { 'elasticbeanstalk:environment-name': 'records-prod' },
        "Elastic Beanstalk environment 'records-prod'",
      ],
    ])('never stops %s: declines naming its manager', async (_case, managerTags, manager) => {
      // Prepare
      const { settings, loaded } = await loadFake({ tags: { ...PHI, ...managerTags } });
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act / Assess
      await expect(rule.remediate(loaded, drift(loaded, settings), context)).rejects.toThrow(
        `it is managed by ${manager}`,
      );
      expect(writes()).toEqual([]);
    });

    it.each([
      ['stop protection is on', { disableApiStop: true }, 'stop protection (DisableApiStop) is on'],
      [
        'it is a one-time Spot instance',
        { spot: { requestId: 'sir-1', type: 'one-time' } },
        'Spot instance of a one-time request',
      ],
      ['its Spot request is unknown', { spot: {} }, 'Spot instance whose request is unknown'],
      [
        'its root device is instance store',
        { rootDeviceType: 'instance-store' },
        'root device is instance store',
      ],
      [
        'a stop would erase instance-store data',
        { instanceStore: true, instanceType: 'm5d.large' },
        'm5d.large has instance-store volumes',
      ],
    ] as const)('declines to stop when %s', async (_case, spec, words) => {
      // Prepare
      const { settings, loaded } = await loadFake({ tags: PHI, ...spec });
      const finding = drift(loaded, settings);
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act / Assess
      expect(finding.plan).toContain(words);
      await expect(rule.remediate(loaded, finding, context)).rejects.toThrow(RemediationDeclined);
      await expect(rule.remediate(loaded, finding, context)).rejects.toThrow(words);
      expect(writes()).toEqual([]);
    });

    it('stops a persistent Spot instance', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake({
        tags: PHI,
        spot: { requestId: 'sir-2', type: 'persistent' },
      });
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      await rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      expect(instance.state).toBe('stopped');
    });
  });

  describe('enforce with tenancyAction retenancy', () => {
    it('stops a running instance, waits, moves it to dedicated tenancy and starts it again', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake({ tags: PHI }, 'retenancy');
      const { context, steps, state } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      const progress = await rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      expect(progress).toBeUndefined();
      expect(instance).toMatchObject({ state: 'running', tenancy: 'dedicated' });
      expect(ec2).toHaveReceivedCommandWith(ModifyInstancePlacementCommand, {
        InstanceId: FAKE_INSTANCE_ID,
        Tenancy: 'dedicated',
      });
      expect(steps).toEqual([
        {
          action: 'StopInstances',
          undo: {
            service: 'ec2',
            action: 'StartInstances',
            input: { InstanceIds: [FAKE_INSTANCE_ID], Region: REGION },
          },
        },
        { action: 'WaitUntilInstanceStopped', undo: undefined },
        {
          action: 'ModifyInstancePlacement',
          undo: {
            service: 'ec2',
            action: 'ModifyInstancePlacement',
            input: { InstanceId: FAKE_INSTANCE_ID, Tenancy: 'default', Region: REGION },
          },
        },
        {
          action: 'StartInstances',
          undo: {
            service: 'ec2',
            action: 'StopInstances',
            input: { InstanceIds: [FAKE_INSTANCE_ID], Region: REGION },
          },
        },
        { action: 'WaitUntilInstanceRunning', undo: undefined },
      ]);
      expect(state).toEqual({ wasRunning: true });
      expect(ec2).toHaveReceivedCommandTimes(CreateTagsCommand, 0);
      const after = await rule.load(ref, aws, settings);
      expect(after && rule.detect(after, settings)).toEqual({ compliant: true });
    });

    it('moves a stopped instance without starting it', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake({ tags: PHI, state: 'stopped' }, 'retenancy');
      const { context, steps } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      await rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      expect(steps.map((step) => step.action)).toEqual(['ModifyInstancePlacement']);
      expect(instance).toMatchObject({ state: 'stopped', tenancy: 'dedicated' });
      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 0);
      expect(ec2).toHaveReceivedCommandTimes(StartInstancesCommand, 0);
    });

    it('never touches an Auto Scaling instance', async () => {
      // Prepare
      const { settings, loaded } = await loadFake({ tags: ASG }, 'retenancy');
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act / Assess
      await expect(rule.remediate(loaded, drift(loaded, settings), context)).rejects.toThrow(
        "managed by Auto Scaling group 'records-web-asg'",
      );
      expect(writes()).toEqual([]);
    });

    it('when AWS refuses the change, starts the instance again and declines with the refusal', async () => {
      // Prepare
      const refusal = ec2ClientError(
        Ec2,
        'InvalidParameterCombination',
        'Tenancy cannot be modified from default to dedicated for this instance',
      );
      const { instance, settings, loaded } = await loadFake(
        { tags: PHI, placement: { refuse: refusal } },
        'retenancy',
      );
      const { context, steps } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      const remediation = rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      await expect(remediation).rejects.toThrow(RemediationDeclined);
      await expect(remediation).rejects.toThrow(
        `AWS refused to move ${FAKE_INSTANCE_ID} to dedicated tenancy (InvalidParameterCombination: Tenancy cannot be modified from default to dedicated for this instance); it was started again and it stays on shared tenancy`,
      );
      expect(steps.map((step) => step.action)).toEqual([
        'StopInstances',
        'WaitUntilInstanceStopped',
        'ModifyInstancePlacement',
        'StartInstances',
        'WaitUntilInstanceRunning',
      ]);
      expect(instance).toMatchObject({ state: 'running', tenancy: 'default' });
    });

    it('when AWS refuses the change of a stopped instance, leaves it stopped', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake(
        { tags: PHI, state: 'stopped', placement: 'returns-false' },
        'retenancy',
      );
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act / Assess
      await expect(rule.remediate(loaded, drift(loaded, settings), context)).rejects.toThrow(
        `AWS refused to move ${FAKE_INSTANCE_ID} to dedicated tenancy (EC2 answered Return=false); it stays on shared tenancy`,
      );
      expect(ec2).toHaveReceivedCommandTimes(StartInstancesCommand, 0);
      expect(instance.state).toBe('stopped');
    });

    it('restores the instance but reports a failure (not a refusal) when EC2 itself fails', async () => {
      // Prepare
      const outage = new Ec2.EC2ServiceException({
        name: 'InternalError',
        message: 'An internal error has occurred',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      const { instance, settings, loaded } = await loadFake(
        { tags: PHI, placement: { refuse: outage } },
        'retenancy',
      );
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      const remediation = rule.remediate(loaded, drift(loaded, settings), context);
      // Assess
      await expect(remediation).rejects.toBe(outage);
      expect(instance.state).toBe('running');
    });

    it('returns Waiting when the stop outlasts the wait budget, and a resumed run finishes the job', async () => {
      // Prepare
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const { instance, settings, loaded } = await loadFake({ tags: PHI, stop: 'hangs' }, 'retenancy');
      const { context, steps, state } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      let settled = false;
      const remediation = Promise.resolve(rule.remediate(loaded, drift(loaded, settings), context)).finally(
        () => {
          settled = true;
        },
      );
      while (!settled) await jest.advanceTimersByTimeAsync(5_000);
      const progress = await remediation;
      // Assess
      expect(progress).toEqual({ waitingFor: `${FAKE_INSTANCE_ID} to stop before its tenancy changes` });
      expect(Date.now() - jest.getRealSystemTime()).toBeLessThanOrEqual(40_000);
      expect(steps.map((step) => step.action)).toEqual(['StopInstances', 'WaitUntilInstanceStopped']);
      expect(ec2).toHaveReceivedCommandTimes(ModifyInstancePlacementCommand, 0);
      // Act: the instance stops later; the next delivery resumes with the same workflow state
      jest.useRealTimers();
      instance.state = 'stopped';
      const resumed = await rule.load(ref, aws, settings);
      if (!resumed) throw new Error('expected the instance to load');
      await rule.remediate(resumed, drift(resumed, settings), context);
      // Assess
      expect(state).toEqual({ wasRunning: true });
      expect(instance).toMatchObject({ state: 'running', tenancy: 'dedicated' });
      expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 1);
    });

    it('waits only until 25 s before its invocation ends when it starts late in it (a sweep unit)', async () => {
      // Prepare: 40 s of the invocation left, so 15 s of waits where an event's remediation has 35 s
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const { settings, loaded } = await loadFake({ tags: PHI, stop: 'hangs' }, 'retenancy');
      const { context, steps } = recordingContext(aws, settings, INCIDENT_ID);
      const started = Date.now();
      // Act
      let settled = false;
      const remediation = Promise.resolve(
        rule.remediate(loaded, drift(loaded, settings), { ...context, remainingMs: () => 40_000 }),
      ).finally(() => {
        settled = true;
      });
      while (!settled) await jest.advanceTimersByTimeAsync(1_000);
      const progress = await remediation;
      const waited = Date.now() - started;
      jest.useRealTimers();
      // Assess
      expect(progress).toEqual({ waitingFor: `${FAKE_INSTANCE_ID} to stop before its tenancy changes` });
      expect(waited).toBeLessThanOrEqual(16_000);
      expect(steps.map((step) => step.action)).toEqual(['StopInstances', 'WaitUntilInstanceStopped']);
    });

    it('after a crash past the change, only starts the instance it had stopped', async () => {
      // Prepare
      const { instance, settings, loaded } = await loadFake(
        { tags: PHI, state: 'stopped', tenancy: 'dedicated' },
        'retenancy',
      );
      const { context, steps, state } = recordingContext(aws, settings, INCIDENT_ID);
      state.wasRunning = true;
      // Act
      await rule.remediate(loaded, { compliant: false, reason: 'r', evidence: {}, plan: 'finish' }, context);
      // Assess
      expect(steps.map((step) => step.action)).toEqual(['StartInstances', 'WaitUntilInstanceRunning']);
      expect(instance.state).toBe('running');
      expect(ec2).toHaveReceivedCommandTimes(ModifyInstancePlacementCommand, 0);
    });

    it('fails, naming the likely cause, when the restarted instance falls back to stopped', async () => {
      // Prepare
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const { settings, loaded } = await loadFake({ tags: PHI, start: 'bounces' }, 'retenancy');
      const { context } = recordingContext(aws, settings, INCIDENT_ID);
      // Act
      let outcome: unknown;
      const remediation = Promise.resolve(rule.remediate(loaded, drift(loaded, settings), context)).then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = error),
      );
      while (outcome === undefined) await jest.advanceTimersByTimeAsync(5_000);
      await remediation;
      // Assess
      expect(outcome).toBeInstanceOf(Error);
      expect(outcome).not.toBeInstanceOf(RemediationDeclined);
      expect((outcome as Error).message).toBe(
        `${FAKE_INSTANCE_ID} went back to stopped after StartInstances (Client.InternalError): check its StateReason; a customer-managed EBS key whose policy does not let the responder's role create grants is the usual cause`,
      );
    });
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all).toEqual(expect.arrayContaining(['ec2:ModifyInstancePlacement', 'ec2:StopInstances']));
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
