import type * as Ec2 from '@aws-sdk/client-ec2';
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type * as ClientMock from 'aws-sdk-client-mock';
import { roleCaller, scheduledEvent } from '../../scripts/lib/events';
import type { Incident } from '../../shared/model';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import {
  described,
  ec2ClientError,
  FAKE_INSTANCE_ID,
  type FakeInstanceSpec,
  fakeInstance,
  instanceCall,
  launch,
} from '../support/phi-dedicated-tenancy';
import { type RecordedCall, recordCalls } from '../support/recorder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const RULE = 'phi-dedicated-tenancy';
const INCIDENT_TAG = 'compliance-responder:incident';
const loadFunction = () => require('../../functions/phi-dedicated-tenancy');

const PHI = { phi: 'true', Name: 'patient-records-db' };
const ASG = {
  ...PHI,
  'aws:autoscaling:groupName': 'records-asg',
  'aws:ec2launchtemplate:id': 'lt-0123456789abcdef0',
  'aws:ec2launchtemplate:version': '3',
};
const ENFORCE_STOP = { MODE_PHI_DEDICATED_TENANCY: 'enforce', TENANCY_ACTION: 'stop' };
const ENFORCE_RETENANCY = { MODE_PHI_DEDICATED_TENANCY: 'enforce', TENANCY_ACTION: 'retenancy' };

const ec2 = new EC2Client({ region: REGION });
const stateOf = async (instanceId: string) => (await described(instanceId)).State?.Name;

/** EC2 changes among the calls moto saw (the table and topic are written on every incident). */
const EC2_WRITES = [
  'CreateTags',
  'DeleteTags',
  'StopInstances',
  'StartInstances',
  'ModifyInstancePlacement',
  'TerminateInstances',
];
const ec2Writes = (calls: readonly RecordedCall[]) =>
  calls.filter((call) => EC2_WRITES.includes(call.action)).map((call) => call.action);

const subject = (instanceId: string, status: string) =>
  `[MEDIUM] PHI instance on shared tenancy ${instanceId}: ${status} — ${ACCOUNT}/${REGION}`;

describe('phi-dedicated-tenancy end to end against moto', () => {
  let responder: LocalResponder;
  let notify: (event: unknown) => Promise<HandlerResult>;
  let enforceStop: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    // The default mode: notify (AWS's BAA stopped requiring dedicated instances in 2017).
    notify = responder.handlerOf(loadFunction);
    enforceStop = responder.handlerOf(loadFunction, ENFORCE_STOP);
  });

  describe('notify mode (the default)', () => {
    it('records and alerts for a running PHI instance on shared tenancy, and changes nothing', async () => {
      // Prepare
      const instanceId = await launch(PHI);
      // Act
      const calls = await recordCalls(() => notify(instanceCall('RunInstances', instanceId)));
      // Assess
      expect(ec2Writes(calls)).toEqual([]);
      expect(await stateOf(instanceId)).toBe('running');
      const [incident, ...others] = await responder.incidents();
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        ruleId: RULE,
        severity: 'MEDIUM',
        hipaa: ['164.314(a)', '164.312(a)(1)'],
        resourceType: 'AWS::EC2::Instance',
        resourceId: instanceId,
        resourceArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${instanceId}`,
        mode: 'notify',
        status: 'open',
        statusReason: `notify mode: Tag ${instanceId} ${INCIDENT_TAG}=<incident id> and stop it (its public IPv4 address is not an Elastic IP and will change); it stays on shared tenancy until it is moved was not done`,
        reason: `PHI instance ${instanceId} (t3.micro) runs on shared tenancy in ${REGION}; policy requires dedicated hardware`,
        evidence: { instanceState: 'running', tenancy: 'default', managedBy: null, disableApiStop: false },
        trigger: { source: 'cloudtrail', eventName: 'RunInstances' },
        actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
        steps: [],
        runbook: 'docs/runbooks/phi-dedicated-tenancy.md',
      });
      expect(JSON.stringify(incident?.evidence)).not.toContain('patient-records-db');
      const alerts = await responder.alerts();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        subject: subject(instanceId, 'open'),
        attributes: { severity: 'MEDIUM', ruleId: RULE, status: 'open', account: ACCOUNT },
        body: { incidentId: incident?.incidentId, status: 'open' },
      });
    });

    it('finds a stopped PHI instance contained under the lock-down policy: no incident', async () => {
      // Prepare
      const instanceId = await launch(PHI, { stopped: true });
      // Act
      const result = await notify(instanceCall('StartInstances', instanceId));
      // Assess
      expect(result.outcomes).toEqual([
        expect.objectContaining({ resourceId: instanceId, compliance: 'COMPLIANT' }),
      ]);
      expect(await responder.incidents()).toEqual([]);
      expect(await responder.alerts()).toEqual([]);
    });

    it('reports a stopped PHI instance under the retenancy policy, and changes nothing', async () => {
      // Prepare
      const instanceId = await launch(PHI, { stopped: true });
      const notifyRetenancy = responder.handlerOf(loadFunction, { TENANCY_ACTION: 'retenancy' });
      // Act
      const calls = await recordCalls(() =>
        notifyRetenancy(scheduledEvent({ accountId: ACCOUNT, region: REGION })),
      );
      // Assess
      expect(ec2Writes(calls)).toEqual([]);
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        status: 'open',
        statusReason: `notify mode: Change the tenancy of ${instanceId} to dedicated; it stays stopped was not done`,
        trigger: { source: 'schedule' },
      });
    });

    it('names the Auto Scaling group and launch template of a managed instance', async () => {
      // Prepare
      const instanceId = await launch(ASG);
      // Act
      await notify(instanceCall('RunInstances', instanceId));
      // Assess
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        status: 'open',
        statusReason: `notify mode: no change to ${instanceId}: it is managed by Auto Scaling group 'records-asg' (launch template lt-0123456789abcdef0 version 3), which would replace an instance the responder stopped: set tenancy dedicated in launch template lt-0123456789abcdef0 version 3 and replace its instances was not done`,
        evidence: { managedBy: 'auto-scaling' },
      });
      expect(JSON.stringify(incident?.evidence)).not.toContain('records-asg');
    });
  });

  describe('enforce mode, tenancyAction stop (lock-down)', () => {
    it('tags a running PHI instance with its incident and stops it, verified, recorded and alerted', async () => {
      // Prepare
      const instanceId = await launch(PHI);
      // Act
      const result = await enforceStop(instanceCall('RunInstances', instanceId));
      // Assess: stopped, never terminated, tagged with the incident that explains why
      const instance = await described(instanceId);
      expect(instance.State?.Name).toBe('stopped');
      const [incident, ...others] = await responder.incidents();
      expect(others).toEqual([]);
      expect(instance.Tags).toEqual(
        expect.arrayContaining([{ Key: INCIDENT_TAG, Value: incident?.incidentId }]),
      );
      expect(result.outcomes).toEqual([
        expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' }),
      ]);
      expect(incident).toMatchObject({
        mode: 'enforce',
        status: 'remediated',
        evidence: { publicIpIsElastic: false },
      });
      expect(incident?.statusReason).toBeUndefined();
      expect(incident?.steps).toEqual([
        expect.objectContaining({
          action: 'CreateTags',
          result: 'succeeded',
          undo: {
            service: 'ec2',
            action: 'DeleteTags',
            input: {
              Resources: [instanceId],
              Tags: [{ Key: INCIDENT_TAG, Value: incident?.incidentId }],
              Region: REGION,
            },
          },
        }),
        expect.objectContaining({
          action: 'StopInstances',
          result: 'succeeded',
          undo: {
            service: 'ec2',
            action: 'StartInstances',
            input: { InstanceIds: [instanceId], Region: REGION },
          },
          output: { currentState: 'stopping' },
        }),
        expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
      ]);
      const alerts = await responder.alerts();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        subject: subject(instanceId, 'remediated'),
        attributes: { status: 'remediated', ruleId: RULE },
        body: { incidentId: incident?.incidentId, status: 'remediated' },
      });
    });

    it('leaves a stopped PHI instance alone: contained, no incident, no change', async () => {
      // Prepare
      const instanceId = await launch(PHI, { stopped: true });
      // Act
      const calls = await recordCalls(() =>
        enforceStop(scheduledEvent({ accountId: ACCOUNT, region: REGION })),
      );
      // Assess
      expect(ec2Writes(calls)).toEqual([]);
      expect(await stateOf(instanceId)).toBe('stopped');
      expect(await responder.incidents()).toEqual([]);
    });

    it('never stops an Auto Scaling instance: the incident stays open naming the group and launch template', async () => {
      // Prepare
      const instanceId = await launch(ASG);
      // Act
      const calls = await recordCalls(() => enforceStop(instanceCall('RunInstances', instanceId)));
      // Assess
      expect(ec2Writes(calls)).toEqual([]);
      expect(await stateOf(instanceId)).toBe('running');
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        mode: 'enforce',
        status: 'open',
        statusReason: `${instanceId} was not changed: it is managed by Auto Scaling group 'records-asg' (launch template lt-0123456789abcdef0 version 3), which would replace an instance the responder stopped: set tenancy dedicated in launch template lt-0123456789abcdef0 version 3 and replace its instances`,
        steps: [],
      });
      expect(await responder.alerts()).toEqual([
        expect.objectContaining({
          subject: subject(instanceId, 'open'),
          attributes: expect.objectContaining({ status: 'open' }),
        }),
      ]);
    });

    it('declines to stop an instance with stop protection, and says so', async () => {
      // Prepare
      const instanceId = await launch(PHI, { disableApiStop: true });
      // Act
      const calls = await recordCalls(() => enforceStop(instanceCall('RunInstances', instanceId)));
      // Assess
      expect(ec2Writes(calls)).toEqual([]);
      expect(await stateOf(instanceId)).toBe('running');
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        status: 'open',
        statusReason: `${instanceId} was not changed: stop protection (DisableApiStop) is on; move it to dedicated tenancy by hand (see the runbook)`,
        evidence: { disableApiStop: true },
        steps: [],
      });
    });

    it('leaves an instance outside the PHI scope alone', async () => {
      // Prepare
      const instanceId = await launch({ phi: 'false', Name: 'build-runner' });
      // Act
      const calls = await recordCalls(() => enforceStop(instanceCall('RunInstances', instanceId)));
      // Assess
      expect(ec2Writes(calls)).toEqual([]);
      // Not even the reads that only a stop needs.
      expect(calls.map((call) => call.action)).not.toContain('DescribeInstanceAttribute');
      expect(await stateOf(instanceId)).toBe('running');
      expect(await responder.incidents()).toEqual([]);
      expect(await responder.alerts()).toEqual([]);
    });

    it('sweeps the region: stops only the running PHI instance', async () => {
      // Prepare
      const running = await launch(PHI);
      const stopped = await launch(PHI, { stopped: true });
      const outside = await launch({ Name: 'build-runner' });
      const managed = await launch(ASG);
      // Act
      const result = await enforceStop(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      // Assess
      expect(await Promise.all([running, stopped, outside, managed].map(stateOf))).toEqual([
        'stopped',
        'stopped',
        'running',
        'running',
      ]);
      const byInstance = Object.fromEntries(
        (await responder.incidents()).map((incident: Incident) => [incident.resourceId, incident.status]),
      );
      expect(byInstance).toEqual({ [running]: 'remediated', [managed]: 'open' });
      // The tag filter narrows the sweep to PHI instances (the managed one carries phi=true too).
      expect(result.outcomes.map((outcome) => outcome.resourceId).sort()).toEqual(
        [running, stopped, managed].sort(),
      );
    });

    it('ignores a start made by its own role (loop guard)', async () => {
      // Prepare
      const instanceId = await launch(PHI);
      // Act
      const result = await enforceStop(
        instanceCall('StartInstances', instanceId, roleCaller(responder.responderRoleArn)),
      );
      // Assess
      expect(result.outcomes).toEqual([]);
      expect(await stateOf(instanceId)).toBe('running');
      expect(await responder.incidents()).toEqual([]);
    });

    it('treats a terminated instance as gone (NOT_APPLICABLE), whatever its tags', async () => {
      // Prepare
      const instanceId = await launch(PHI);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      // Act
      const result = await enforceStop(instanceCall('RunInstances', instanceId));
      // Assess
      expect(result.outcomes).toEqual([
        expect.objectContaining({ compliance: 'NOT_APPLICABLE', note: 'resource no longer exists' }),
      ]);
      expect(await responder.incidents()).toEqual([]);
    });

    it('acts on a compliance change of the AWS managed rule DESIRED_INSTANCE_TENANCY', async () => {
      // Prepare
      const instanceId = await launch(PHI);
      const now = new Date().toISOString();
      const change = {
        version: '0',
        id: 'c1c2c3c4-0000-4000-8000-000000000001',
        'detail-type': 'Config Rules Compliance Change',
        source: 'aws.config',
        account: ACCOUNT,
        time: now,
        region: REGION,
        resources: [],
        detail: {
          resourceId: instanceId,
          awsRegion: REGION,
          awsAccountId: ACCOUNT,
          configRuleName: 'desired-instance-tenancy',
          recordVersion: '1.0',
          configRuleARN: `arn:aws:config:${REGION}:${ACCOUNT}:config-rule/config-rule-t1`,
          messageType: 'ComplianceChangeNotification',
          newEvaluationResult: {
            evaluationResultIdentifier: {
              evaluationResultQualifier: {
                configRuleName: 'desired-instance-tenancy',
                resourceType: 'AWS::EC2::Instance',
                resourceId: instanceId,
              },
              orderingTimestamp: now,
            },
            complianceType: 'NON_COMPLIANT',
            resultRecordedTime: now,
            configRuleInvokedTime: now,
          },
          notificationCreationTime: now,
          resourceType: 'AWS::EC2::Instance',
        },
      };
      // Act
      await enforceStop(change);
      // Assess
      expect(await stateOf(instanceId)).toBe('stopped');
      expect((await responder.incidents())[0]).toMatchObject({
        trigger: { source: 'config-compliance' },
        status: 'remediated',
      });
    });
  });

  // moto 5.2.1 ignores Placement.Tenancy and does not implement ModifyInstancePlacement, so here EC2
  // is an aws-sdk-client-mock fake (test/support/phi-dedicated-tenancy.ts) while the incident table
  // and the alert topic stay on moto: the incident and the alert are the real ones.
  describe('enforce mode, tenancyAction retenancy (EC2 mocked, table and topic on moto)', () => {
    const withFakeEc2 = (spec: FakeInstanceSpec) => {
      let instance: ReturnType<typeof fakeInstance> | undefined;
      const handle = responder.handlerOf(() => {
        // The handler's own copy of the EC2 client (jest.isolateModules): the stub must match its classes.
        const ec2Module = require('@aws-sdk/client-ec2') as typeof Ec2;
        const { mockClient } = require('aws-sdk-client-mock') as typeof ClientMock;
        instance = fakeInstance(mockClient(ec2Module.EC2Client), ec2Module, {
          ...spec,
          placement:
            spec.placement === 'moves' || !spec.placement ? spec.placement : { refuse: refusal(ec2Module) },
        });
        return loadFunction();
      }, ENFORCE_RETENANCY);
      if (!instance) throw new Error('the fake instance was not set up');
      return { handle, instance };
    };
    const refusal = (ec2Module: typeof Ec2) =>
      ec2ClientError(
        ec2Module,
        'InvalidParameterCombination',
        'You cannot change the tenancy of this instance',
      );

    it('moves a running instance to dedicated tenancy and starts it again', async () => {
      // Prepare
      const { handle, instance } = withFakeEc2({ tags: PHI });
      // Act
      const result = await handle(instanceCall('StartInstances', FAKE_INSTANCE_ID));
      // Assess
      expect(instance).toMatchObject({ state: 'running', tenancy: 'dedicated' });
      expect(result.outcomes).toEqual([
        expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' }),
      ]);
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        status: 'remediated',
        evidence: { tenancyAction: 'retenancy', instanceState: 'running' },
        workflow: { state: { wasRunning: true } },
      });
      expect(incident?.steps.map((step) => [step.action, step.result])).toEqual([
        ['StopInstances', 'succeeded'],
        ['WaitUntilInstanceStopped', 'succeeded'],
        ['ModifyInstancePlacement', 'succeeded'],
        ['StartInstances', 'succeeded'],
        ['WaitUntilInstanceRunning', 'succeeded'],
        ['Verify', 'succeeded'],
      ]);
      expect(incident?.steps[2]?.undo).toEqual({
        service: 'ec2',
        action: 'ModifyInstancePlacement',
        input: { InstanceId: FAKE_INSTANCE_ID, Tenancy: 'default', Region: REGION },
      });
      expect((await responder.alerts()).map((alert) => alert.subject)).toEqual([
        subject(FAKE_INSTANCE_ID, 'remediated'),
      ]);
    });

    it('moves a stopped instance and leaves it stopped', async () => {
      // Prepare
      const { handle, instance } = withFakeEc2({ tags: PHI, state: 'stopped' });
      // Act
      await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      // Assess
      expect(instance).toMatchObject({ state: 'stopped', tenancy: 'dedicated' });
      const [incident] = await responder.incidents();
      expect(incident?.status).toBe('remediated');
      expect(incident?.steps.map((step) => step.action)).toEqual(['ModifyInstancePlacement', 'Verify']);
    });

    it('never touches an Auto Scaling instance', async () => {
      // Prepare
      const { handle, instance } = withFakeEc2({ tags: ASG });
      // Act
      await handle(instanceCall('RunInstances', FAKE_INSTANCE_ID));
      // Assess
      expect(instance).toMatchObject({ state: 'running', tenancy: 'default' });
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        status: 'open',
        statusReason: expect.stringContaining(
          `${FAKE_INSTANCE_ID} was not changed: it is managed by Auto Scaling group 'records-asg'`,
        ),
        steps: [],
      });
    });

    it('when AWS refuses the change: records the refusal, starts the instance again, leaves the incident open', async () => {
      // Prepare
      const { handle, instance } = withFakeEc2({ tags: PHI, placement: { refuse: new Error('replaced') } });
      // Act
      const result = await handle(instanceCall('StartInstances', FAKE_INSTANCE_ID));
      // Assess
      expect(instance).toMatchObject({ state: 'running', tenancy: 'default' });
      expect(result.outcomes).toEqual([
        expect.objectContaining({ compliance: 'NON_COMPLIANT', status: 'open' }),
      ]);
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        status: 'open',
        statusReason: `AWS refused to move ${FAKE_INSTANCE_ID} to dedicated tenancy (InvalidParameterCombination: You cannot change the tenancy of this instance); it was started again and it stays on shared tenancy: move it by hand or launch a replacement on dedicated tenancy (see the runbook)`,
      });
      expect(incident?.steps.map((step) => [step.action, step.result, step.error])).toEqual([
        ['StopInstances', 'succeeded', undefined],
        ['WaitUntilInstanceStopped', 'succeeded', undefined],
        [
          'ModifyInstancePlacement',
          'failed',
          'InvalidParameterCombination: You cannot change the tenancy of this instance',
        ],
        ['StartInstances', 'succeeded', undefined],
        ['WaitUntilInstanceRunning', 'succeeded', undefined],
      ]);
      const alerts = await responder.alerts();
      expect(alerts).toEqual([
        expect.objectContaining({
          subject: subject(FAKE_INSTANCE_ID, 'open'),
          attributes: expect.objectContaining({ status: 'open' }),
          body: expect.objectContaining({ statusReason: incident?.statusReason }),
        }),
      ]);
    });
  });
});
