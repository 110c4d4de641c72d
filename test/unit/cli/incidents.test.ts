import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { incidentLines, parseRule, parseStatus, undoPlanLines } from '../../../cli/incidents-format';
import { main } from '../../../cli/index';
import { planUndo, undoCallsOf, undoExemptionMinutes } from '../../../cli/undo';
import { type PlannedCall, planCall, REPLAYABLE } from '../../../cli/undo-calls';
import type { Incident, Step, Summary, UndoCall } from '../../../shared/model';
import { rules } from '../../../shared/rules';
import { pathOf, toIpPermission } from '../../../shared/ssh/exposure';
import { anIncident } from '../../support/incident';

const ROOT = join(__dirname, '..', '..', '..');

const TAG = 'compliance-responder:quarantined';
/** The account of anIncident() and of the caller: planUndo refuses an incident of another. */
const CALLER = '111122223333';

const step = (action: string, result: Step['result'], undoAction?: string): Step => ({
  action,
  at: '2026-11-23T10:00:00.000Z',
  result,
  ...(undoAction
    ? {
        undo: {
          service: 'ec2',
          action: undoAction,
          input: { Region: 'eu-west-1', Resources: ['vol-1'], Tags: [{ Key: TAG }] },
        },
      }
    : {}),
});

/** An incident about volume vol-1 in eu-west-1 (the volume the steps above name). */
const withSteps = (steps: Step[], extra: Partial<Incident> = {}): Incident => ({
  ...anIncident(),
  incidentId: 'inc-20261123T100000-0a1b2c3d',
  ruleId: 'ebs-volume-encrypted',
  region: 'eu-west-1',
  resourceType: 'AWS::EC2::Volume',
  resourceId: 'vol-1',
  resourceArn: 'arn:aws:ec2:eu-west-1:111122223333:volume/vol-1',
  steps,
  ...extra,
});

const succeeded = (undo: UndoCall, output?: Step['output']): Step => ({
  action: 'Change',
  at: '2026-11-23T10:00:00.000Z',
  result: 'succeeded',
  undo,
  ...(output ? { output } : {}),
});

const refusal = (planned: ReturnType<typeof planCall>) =>
  'refused' in planned ? planned.refused : undefined;
const regionOf = (planned: ReturnType<typeof planCall>) => (planned as PlannedCall).region;

const ruleOf = (incident: Incident) => {
  const found = rules.find((candidate) => candidate.id === incident.ruleId);
  if (!found) throw new Error(`no rule ${incident.ruleId}`);
  return found;
};

/** Plans one call as the undo of a succeeded step `action` (with its output) of the incident. */
const planAs = (call: UndoCall, incident: Incident, action: string, output?: Summary) =>
  planCall(
    call,
    incident.steps.length,
    { ...incident, steps: [...incident.steps, { ...succeeded(call, output), action }] },
    ruleOf(incident),
  );

describe('incidents list filters', () => {
  it('accept the statuses and rule ids there are, whatever the case', () => {
    // Act / Assess
    expect(parseStatus('Remediated')).toBe('remediated');
    expect(parseStatus('undone')).toBe('undone');
    expect(parseRule('SSH-OPEN-TO-WORLD')).toBe('ssh-open-to-world');
  });

  it('refuse anything else, naming the valid values', () => {
    // Act / Assess
    expect(() => parseStatus('fixed')).toThrow(
      "invalid --status 'fixed': one of open, remediating, remediated, failed, exempted, suppressed, resolved, undone",
    );
    expect(() => parseRule('ebs')).toThrow(/^invalid --rule 'ebs': one of ebs-encryption-by-default, /);
  });
});

/** The step each undo call reverses, as the rules name their steps. */
const STEP_UNDONE: Readonly<Record<string, string>> = {
  DisableEbsEncryptionByDefault: 'EnableEbsEncryptionByDefault',
  ModifyEbsDefaultKmsKeyId: 'ModifyEbsDefaultKmsKeyId',
  ResetEbsDefaultKmsKeyId: 'ModifyEbsDefaultKmsKeyId',
  StartInstances: 'StopInstances',
  StopInstances: 'StartInstances',
  ModifyInstancePlacement: 'ModifyInstancePlacement',
  AttachVolume: 'DetachOriginal',
  DetachVolume: 'AttachEncrypted',
  CreateVolume: 'DeleteOriginalVolume',
  AuthorizeSecurityGroupIngress: 'RevokeSecurityGroupIngress',
  UpdateSSHPublicKey: 'UpdateSSHPublicKey',
  StopLogging: 'StartLogging',
  UpdateTrail: 'UpdateTrail',
  StopConfigurationRecorder: 'StartConfigurationRecorder',
};
const stepUndoneBy = (call: UndoCall, incident: Incident) =>
  call.action === 'DeleteTags'
    ? incident.ruleId === 'phi-dedicated-tenancy'
      ? 'CreateTags'
      : 'QuarantineOriginal'
    : (STEP_UNDONE[call.action] ?? call.action);

/**
 * Each undo call as the rules build it (shared/rules, shared/ssh), on an incident of that rule;
 * the scan test below fails when a recorded call has no entry here.
 */
const rule = (ruleId: string, resourceId: string, region = 'eu-west-1', extra: Partial<Incident> = {}) =>
  withSteps([], {
    ruleId,
    resourceId,
    region,
    resourceArn: `arn:aws:test:${region}:111122223333:${resourceId}`,
    ...extra,
  });
const sgRule = { ruleId: 'sgr-1', groupId: 'sg-1', protocol: 'tcp', fromPort: 22, toPort: 22, tags: {} };
const account = rule('ebs-encryption-by-default', '111122223333', 'eu-west-1', {
  account: '111122223333',
  evidence: { defaultKmsKeyId: 'alias/old' },
});
const swap = rule('ebs-volume-encrypted', 'vol-1', 'eu-west-1', {
  evidence: { attachedTo: 'i-attached' },
  workflow: { startedAt: '2026-11-23T10:00:00.000Z', state: { instanceId: 'i-attached' } },
  steps: [
    succeeded(
      { service: 'ec2', action: 'DeleteTags', input: {} },
      { snapshotId: 'snap-1', state: 'completed' },
    ),
    succeeded(
      { service: 'ec2', action: 'DeleteTags', input: {} },
      { replacementVolumeId: 'vol-2', device: '/dev/sdf' },
    ),
  ],
});
const trail = rule('cloudtrail-logging-on', 'main-trail', 'us-east-1', {
  resourceArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/main-trail',
  evidence: { isLogging: false, logFileValidation: false, multiRegion: false },
});
const LB = 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188';
const LISTENER =
  'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
const loadBalancer = rule('elb-listener-tls', LB, 'eu-west-1', { resourceArn: LB });
const restorePolicy = (SslPolicy: string): UndoCall => ({
  service: 'elasticloadbalancing',
  action: 'ModifyListener',
  input: { ListenerArn: LISTENER, SslPolicy, Region: 'eu-west-1' },
});
const classic = rule('elb-classic-listener-tls', 'ward7-classic', 'eu-west-1', {
  resourceArn: 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/ward7-classic',
});
const restoreClassicPolicies = (PolicyNames: string[], LoadBalancerPort = 443): UndoCall => ({
  service: 'elasticloadbalancing',
  action: 'SetLoadBalancerPoliciesOfListener',
  input: { LoadBalancerName: 'ward7-classic', LoadBalancerPort, PolicyNames, Region: 'eu-west-1' },
});
const CLASSIC_STEP = { port: 443, previousPolicyNames: JSON.stringify(['sticky', 'weak']) };
const tags = (Value?: string) => [{ Key: 'compliance-responder:incident', ...(Value ? { Value } : {}) }];
const repository = rule('ecr-scanned-immutable', 'payments', 'eu-west-1', {
  resourceArn: 'arn:aws:ecr:eu-west-1:111122223333:repository/payments',
  evidence: { tagMutability: 'MUTABLE_WITH_EXCLUSION', tagExclusions: 'latest' },
});
const REAL_UNDOS: [string, Incident, UndoCall, Summary?][] = [
  [
    'ecr:PutImageTagMutability',
    repository,
    {
      service: 'ecr',
      action: 'PutImageTagMutability',
      input: {
        repositoryName: 'payments',
        imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }],
        Region: 'eu-west-1',
      },
    },
  ],
  [
    'ec2:DisableEbsEncryptionByDefault',
    account,
    { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'eu-west-1' } },
  ],
  [
    'ec2:ResetEbsDefaultKmsKeyId',
    account,
    { service: 'ec2', action: 'ResetEbsDefaultKmsKeyId', input: { Region: 'eu-west-1' } },
  ],
  [
    'ec2:ModifyEbsDefaultKmsKeyId',
    account,
    {
      service: 'ec2',
      action: 'ModifyEbsDefaultKmsKeyId',
      input: { KmsKeyId: 'alias/old', Region: 'eu-west-1' },
    },
  ],
  [
    'ec2:DeleteTags',
    rule('phi-dedicated-tenancy', 'i-1'),
    {
      service: 'ec2',
      action: 'DeleteTags',
      input: { Resources: ['i-1'], Tags: tags('inc-1'), Region: 'eu-west-1' },
    },
  ],
  [
    'ec2:DeleteTags',
    swap,
    {
      service: 'ec2',
      action: 'DeleteTags',
      input: {
        Resources: ['vol-1'],
        Tags: [{ Key: TAG }, { Key: 'compliance-responder:replaced-by' }],
        Region: 'eu-west-1',
      },
    },
  ],
  [
    'ec2:StartInstances',
    rule('phi-dedicated-tenancy', 'i-1'),
    { service: 'ec2', action: 'StartInstances', input: { InstanceIds: ['i-1'], Region: 'eu-west-1' } },
  ],
  [
    'ec2:StartInstances',
    swap,
    { service: 'ec2', action: 'StartInstances', input: { InstanceIds: ['i-attached'], Region: 'eu-west-1' } },
  ],
  [
    'ec2:StopInstances',
    swap,
    { service: 'ec2', action: 'StopInstances', input: { InstanceIds: ['i-attached'], Region: 'eu-west-1' } },
  ],
  [
    'ec2:ModifyInstancePlacement',
    rule('phi-dedicated-tenancy', 'i-1'),
    {
      service: 'ec2',
      action: 'ModifyInstancePlacement',
      input: { InstanceId: 'i-1', Tenancy: 'default', Region: 'eu-west-1' },
    },
  ],
  [
    'ec2:AttachVolume',
    swap,
    {
      service: 'ec2',
      action: 'AttachVolume',
      input: { VolumeId: 'vol-1', InstanceId: 'i-attached', Device: '/dev/sdf', Region: 'eu-west-1' },
    },
  ],
  [
    'ec2:DetachVolume',
    swap,
    {
      service: 'ec2',
      action: 'DetachVolume',
      input: { VolumeId: 'vol-2', InstanceId: 'i-attached', Region: 'eu-west-1' },
    },
  ],
  [
    'ec2:CreateVolume',
    swap,
    {
      service: 'ec2',
      action: 'CreateVolume',
      input: { SnapshotId: 'snap-1', AvailabilityZone: 'eu-west-1a', Region: 'eu-west-1' },
    },
  ],
  ...(
    [
      { kind: 'ipv4', cidr: '0.0.0.0/0' },
      { kind: 'ipv6', cidr: '::/0' },
      { kind: 'prefix-list', prefixListId: 'pl-1', cidrs: [] },
      { kind: 'security-group', groupId: 'sg-2', userId: '111122223333' },
    ] as const
  ).map((source): [string, Incident, UndoCall, Summary] => [
    'ec2:AuthorizeSecurityGroupIngress',
    rule('ssh-open-to-world', 'sg-1'),
    {
      service: 'ec2',
      action: 'AuthorizeSecurityGroupIngress',
      input: {
        Region: 'eu-west-1',
        GroupId: 'sg-1',
        IpPermissions: [toIpPermission({ ...sgRule, source, description: 'ssh' })],
      },
    },
    { securityGroupRuleId: 'sgr-1', revoked: pathOf({ ...sgRule, source }) },
  ]),
  [
    'iam:UpdateSSHPublicKey',
    rule('ssh-grant-expired', 'alice', 'global'),
    {
      service: 'iam',
      action: 'UpdateSSHPublicKey',
      input: { UserName: 'alice', SSHPublicKeyId: 'APKA1', Status: 'Active' },
    },
    { sshPublicKeyId: 'APKA1', status: 'Inactive' },
  ],
  [
    'elasticloadbalancing:ModifyListener',
    loadBalancer,
    restorePolicy('ELBSecurityPolicy-2016-08'),
    { previousSslPolicy: 'ELBSecurityPolicy-2016-08' },
  ],
  [
    'elasticloadbalancing:ModifyListener (default actions)',
    loadBalancer,
    {
      service: 'elasticloadbalancing',
      action: 'ModifyListener',
      input: {
        ListenerArn: LISTENER,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: 'arn:aws:elasticloadbalancing:tg', Order: 1 }],
        Region: 'eu-west-1',
      },
    },
    { redirectedTo: 'HTTPS:443' },
  ],
  [
    'elasticloadbalancing:SetLoadBalancerPoliciesOfListener',
    classic,
    restoreClassicPolicies(['sticky', 'weak']),
    CLASSIC_STEP,
  ],
  [
    'cloudtrail:StopLogging',
    trail,
    { service: 'cloudtrail', action: 'StopLogging', input: { Name: trail.resourceArn, Region: 'us-east-1' } },
  ],
  [
    'cloudtrail:UpdateTrail',
    trail,
    {
      service: 'cloudtrail',
      action: 'UpdateTrail',
      input: {
        Name: trail.resourceArn,
        Region: 'us-east-1',
        EnableLogFileValidation: false,
        IsMultiRegionTrail: false,
      },
    },
  ],
  [
    'config:StopConfigurationRecorder',
    rule('config-recorder-on', 'default'),
    {
      service: 'config',
      action: 'StopConfigurationRecorder',
      input: { ConfigurationRecorderName: 'default', Region: 'eu-west-1' },
    },
  ],
];

describe('the undo plan', () => {
  it('replays only the succeeded steps with an undo call, last step first', () => {
    // Prepare
    const incident = withSteps([
      step('CreateTags', 'succeeded', 'DeleteTags'),
      step('Snapshot', 'succeeded'),
      step('StopInstances', 'succeeded', 'StartInstances'),
      step('ModifyInstancePlacement', 'failed', 'ModifyInstancePlacement'),
    ]);
    // Act
    const calls = undoCallsOf(incident);
    // Assess
    expect(calls.map(({ step: index, call }) => [index, call.action])).toEqual([
      [2, 'StartInstances'],
      [0, 'DeleteTags'],
    ]);
  });

  it('refuses an action off the allow-list before anything runs, naming it', () => {
    // Prepare
    const incident = withSteps([
      step('CreateTags', 'succeeded', 'DeleteTags'),
      step('Something', 'succeeded', 'TerminateInstances'),
    ]);
    // Act / Assess
    expect(() => planUndo(incident, CALLER)).toThrow(
      'refused: incident inc-20261123T100000-0a1b2c3d: ec2 TerminateInstances: not a call this command replays; nothing was changed',
    );
  });

  it('refuses an incident with a step still running, naming it, before anything runs', () => {
    // Prepare: a crash mid-call left StopInstances running; its call may have gone through
    const incident = withSteps([
      step('CreateTags', 'succeeded', 'DeleteTags'),
      step('StopInstances', 'running', 'StartInstances'),
    ]);
    // Act / Assess
    expect(() => planUndo(incident, CALLER)).toThrow(
      'refused: incident inc-20261123T100000-0a1b2c3d has step(s) still recorded as running (2. StopInstances), whose call may have gone through; nothing was changed: finish by hand with incidents show inc-20261123T100000-0a1b2c3d',
    );
  });

  it("refuses a self-protection incident's undo entirely: replaying it would break the responder again", () => {
    // Prepare
    const incident = withSteps(
      [
        succeeded({
          service: 'events',
          action: 'DisableRule',
          input: { Name: 'compliance-responder-prod-sweep', Region: 'eu-west-1' },
        }),
      ],
      { ruleId: 'self-protection', resourceId: 'compliance-responder-prod-sweep' },
    );
    // Act / Assess
    expect(() => planUndo(incident, CALLER)).toThrow(
      "refused: incident inc-20261123T100000-0a1b2c3d restored the responder's own stack; replaying its undo would break the responder again",
    );
    expect(REPLAYABLE).not.toContain('kms:ScheduleKeyDeletion');
  });

  it.each([
    [
      'another resource id',
      {
        service: 'ec2',
        action: 'DeleteTags',
        input: { Resources: ['vol-other'], Tags: [{ Key: 'k' }], Region: 'eu-west-1' },
      },
      'ec2 DeleteTags: targets vol-other, not vol-1',
    ],
    [
      'an extra key',
      {
        service: 'ec2',
        action: 'DeleteTags',
        input: { Resources: ['vol-1'], Tags: [{ Key: 'k' }], Region: 'eu-west-1', DryRun: false },
      },
      'ec2 DeleteTags: unexpected input',
    ],
    [
      'a second resource smuggled in',
      {
        service: 'ec2',
        action: 'StopInstances',
        input: { InstanceIds: ['i-attached', 'i-other'], Region: 'eu-west-1' },
      },
      'ec2 StopInstances: unexpected input (InstanceIds',
    ],
    [
      'another region',
      {
        service: 'ec2',
        action: 'DeleteTags',
        input: { Resources: ['vol-1'], Tags: [{ Key: 'k' }], Region: 'us-west-2' },
      },
      "ec2 DeleteTags: runs in us-west-2, not in the incident's region eu-west-1",
    ],
    [
      'a region that is not one',
      {
        service: 'ec2',
        action: 'DeleteTags',
        input: { Resources: ['vol-1'], Tags: [{ Key: 'k' }], Region: 'https://evil' },
      },
      'ec2 DeleteTags: unexpected input (Region',
    ],
    [
      "another rule's account-level call on an incident about a volume",
      { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'eu-west-1' } },
      'ec2 DisableEbsEncryptionByDefault: not an undo of ebs-volume-encrypted',
    ],
  ])('refuses a tampered call (%s) before any call runs, naming why', (_case, tampered, words) => {
    // Prepare: a good call first, so nothing must run when a later one is bad
    const recorded = { ...succeeded(tampered), action: STEP_UNDONE[tampered.action] ?? 'QuarantineOriginal' };
    const incident = withSteps([recorded, step('CreateTags', 'succeeded', 'DeleteTags')], {
      evidence: { attachedTo: 'i-attached' },
    });
    // Act / Assess
    expect(() => planUndo(incident, CALLER)).toThrow(words);
    expect(() => planUndo(incident, CALLER)).toThrow('nothing was changed');
  });

  const sshIncident = rule('ssh-open-to-world', 'sg-1', 'eu-west-1', {
    account: '111122223333',
    resourceArn: 'arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1',
  });
  const reopen = (permission: Record<string, unknown>): UndoCall => ({
    service: 'ec2',
    action: 'AuthorizeSecurityGroupIngress',
    input: { Region: 'eu-west-1', GroupId: 'sg-1', IpPermissions: [permission] },
  });
  const revokedSsh = { securityGroupRuleId: 'sgr-1', revoked: 'tcp 22 from 0.0.0.0/0' };
  const world = { IpRanges: [{ CidrIp: '0.0.0.0/0' }] };
  it.each([
    [
      'all traffic where the step revoked tcp 22',
      sshIncident,
      {
        ...succeeded(reopen({ IpProtocol: '-1', ...world }), revokedSsh),
        action: 'RevokeSecurityGroupIngress',
      },
      'restores all traffic from 0.0.0.0/0, but step 1 revoked tcp 22 from 0.0.0.0/0',
    ],
    [
      'a step that does not record what it revoked',
      sshIncident,
      {
        ...succeeded(reopen({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, ...world }), {
          securityGroupRuleId: 'sgr-1',
        }),
        action: 'RevokeSecurityGroupIngress',
      },
      'step 1 does not record the path it revoked',
    ],
    [
      'the undo of another step',
      sshIncident,
      {
        ...succeeded(reopen({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, ...world }), revokedSsh),
        action: 'Verify',
      },
      'ec2 AuthorizeSecurityGroupIngress undoes RevokeSecurityGroupIngress, and step 1 is Verify',
    ],
    [
      'a tag the responder never sets',
      withSteps([]),
      {
        ...succeeded({
          service: 'ec2',
          action: 'DeleteTags',
          input: { Region: 'eu-west-1', Resources: ['vol-1'], Tags: [{ Key: 'phi' }] },
        }),
        action: 'QuarantineOriginal',
      },
      'ec2 DeleteTags: removes tag(s) phi, which the responder never sets',
    ],
    [
      'an incident of another account',
      {
        ...sshIncident,
        account: '999999999999',
        resourceArn: sshIncident.resourceArn.replace('111122223333', '999999999999'),
      },
      {
        ...succeeded(reopen({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, ...world }), revokedSsh),
        action: 'RevokeSecurityGroupIngress',
      },
      "it is of account 999999999999, and your credentials are account 111122223333's",
    ],
    [
      'a region its resource ARN does not name',
      { ...sshIncident, region: 'us-west-2' },
      {
        ...succeeded(reopen({ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, ...world }), revokedSsh),
        action: 'RevokeSecurityGroupIngress',
      },
      'its resource ARN names eu-west-1, not us-west-2',
    ],
  ])('refuses from the record alone, before any AWS call: %s', (_case, incident, recorded, words) => {
    // Act / Assess
    expect(() => planUndo({ ...incident, steps: [recorded] }, CALLER)).toThrow(words);
  });

  it.each([
    [
      'undone before',
      withSteps([step('CreateTags', 'succeeded', 'DeleteTags')], {
        undo: {
          by: 'arn:aws:iam::123456789012:user/bob',
          startedAt: '2026-11-23T11:00:00.000Z',
          result: 'failed',
          exemptForMinutes: 1440,
          calls: [],
        },
      }),
      'was already undone by arn:aws:iam::123456789012:user/bob at 2026-11-23T11:00:00.000Z (failed)',
    ],
    [
      'still remediating',
      withSteps([step('CreateTags', 'succeeded', 'DeleteTags')], { status: 'remediating' }),
      'is still remediating',
    ],
    ['without a change', withSteps([step('Verify', 'succeeded')]), 'records no change to undo'],
  ])('refuses an incident %s', (_case, incident, words) => {
    // Act / Assess
    expect(() => planUndo(incident, CALLER)).toThrow(words);
  });

  it("runs each call in the incident's region, without the Region key in the API input; IAM's in us-east-1", () => {
    // Prepare
    const volume = withSteps([]);
    const user = withSteps([], { ruleId: 'ssh-grant-expired', region: 'global', resourceId: 'alice' });
    // Act
    const ec2 = planAs(
      {
        service: 'ec2',
        action: 'DeleteTags',
        input: { Region: 'eu-west-1', Resources: ['vol-1'], Tags: [{ Key: TAG }] },
      },
      volume,
      'QuarantineOriginal',
    );
    const unnamed = planAs(
      { service: 'ec2', action: 'StartInstances', input: { InstanceIds: ['vol-1'] } },
      volume,
      'StopInstances',
    );
    const iam = planAs(
      {
        service: 'iam',
        action: 'UpdateSSHPublicKey',
        input: { UserName: 'alice', SSHPublicKeyId: 'APKA1', Status: 'Active' },
      },
      user,
      'UpdateSSHPublicKey',
      { sshPublicKeyId: 'APKA1', status: 'Inactive' },
    );
    // Assess
    expect([regionOf(ec2), regionOf(unnamed), regionOf(iam)]).toEqual([
      'eu-west-1',
      'eu-west-1',
      'us-east-1',
    ]);
    expect(refusal(planAs({ service: 'ec2', action: 'RunInstances', input: {} }, volume, 'Run'))).toBe(
      'ec2 RunInstances: not a call this command replays',
    );
  });

  it('refuses a tag-mutability undo rewritten to leave more tags mutable than the repository had', () => {
    // Prepare: someone with table write access widens the recorded undo to plain MUTABLE
    const widened: UndoCall = {
      service: 'ecr',
      action: 'PutImageTagMutability',
      input: { repositoryName: 'payments', imageTagMutability: 'MUTABLE', Region: 'eu-west-1' },
    };
    // Act / Assess
    expect(refusal(planAs(widened, repository, 'PutImageTagMutability'))).toBe(
      'ecr PutImageTagMutability: sets MUTABLE [], but the repository had MUTABLE_WITH_EXCLUSION [latest]',
    );
  });

  it('covers every undo call the rules record (shared/rules, shared/ssh, shared/aws)', () => {
    // Prepare: every `service: '...', action: '...'` literal in the rule sources
    const recorded = new Set<string>();
    for (const folder of ['shared/rules', 'shared/ssh', 'shared/aws']) {
      for (const file of readdirSync(join(ROOT, folder)).filter((name) => name.endsWith('.ts'))) {
        // self-protection's undo is refused whole (planUndo), so its calls are not on the list.
        if (file === 'self-protection.ts') continue;
        const text = readFileSync(join(ROOT, folder, file), 'utf8');
        for (const match of text.matchAll(/service: '([a-z0-9-]+)',\s*action: '(\w+)'/g)) {
          recorded.add(`${match[1]}:${match[2]}`);
        }
      }
    }
    // Assess: the scan finds what it should, and every one is replayable
    expect(recorded).toContain('ec2:DisableEbsEncryptionByDefault');
    expect(recorded).toContain('ec2:AuthorizeSecurityGroupIngress');
    expect(recorded.size).toBeGreaterThanOrEqual(15);
    expect([...recorded].filter((call) => !REPLAYABLE.includes(call))).toEqual([]);
    expect([...recorded].filter((call) => !REAL_UNDOS.some(([name]) => name.split(' ')[0] === call))).toEqual(
      [],
    );
  });

  it('has each rule declare exactly the undo calls its remediation records (its own file and the helpers it uses)', () => {
    // Prepare: the shared helpers that record undo calls, by the name a rule calls them with
    const helpers: Record<string, string[]> = {
      revokeIngressRule: ['ec2:AuthorizeSecurityGroupIngress'],
      setKeyStatus: ['iam:UpdateSSHPublicKey'],
      InstancePower: ['ec2:StartInstances', 'ec2:StopInstances'],
    };
    for (const rule of rules.filter((candidate) => candidate.id !== 'self-protection')) {
      const text = readFileSync(join(ROOT, 'shared', 'rules', `${rule.id}.ts`), 'utf8');
      const recorded = new Set([
        ...[...text.matchAll(/service: '([a-z0-9-]+)',\s*action: '(\w+)'/g)].map(
          (match) => `${match[1]}:${match[2]}`,
        ),
        ...Object.entries(helpers).flatMap(([helper, calls]) => (text.includes(helper) ? calls : [])),
      ]);
      // Assess
      expect([rule.id, [...(rule.undoActions ?? [])].sort()]).toEqual([rule.id, [...recorded].sort()]);
      expect((rule.undoActions ?? []).filter((call) => !REPLAYABLE.includes(call))).toEqual([]);
    }
  });

  it.each(REAL_UNDOS)(
    'passes %s as the rules record it, on their own incident',
    // A rest parameter: with four named ones jest would take the last for a `done` callback.
    (...[, incident, call, output]) => {
      // Act
      const planned = planAs(call, incident, stepUndoneBy(call, incident), output);
      // Assess
      expect(refusal(planned)).toBeUndefined();
      expect(regionOf(planned)).toBe(call.service === 'iam' ? 'us-east-1' : incident.region);
    },
  );
});

describe('the undo of a load balancer listener', () => {
  it.each([
    [
      'a weaker policy than the step replaced',
      restorePolicy('ELBSecurityPolicy-TLS-1-0-2015-04'),
      { previousSslPolicy: 'ELBSecurityPolicy-2016-08' },
      /the step recorded replacing/,
    ],
    [
      'a listener of another load balancer',
      {
        ...restorePolicy('ELBSecurityPolicy-2016-08'),
        input: { ListenerArn: LISTENER.replace('/web/', '/other/'), SslPolicy: 'ELBSecurityPolicy-2016-08' },
      },
      { previousSslPolicy: 'ELBSecurityPolicy-2016-08' },
      /targets arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer\/app\/other/,
    ],
    [
      'default actions after a policy step',
      {
        ...restorePolicy('x'),
        input: {
          ListenerArn: LISTENER,
          DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }],
        },
      },
      { previousSslPolicy: 'ELBSecurityPolicy-2016-08' },
      /the step made no redirect/,
    ],
    [
      'an authenticate action (never recorded by the rule)',
      {
        ...restorePolicy('x'),
        input: { ListenerArn: LISTENER, DefaultActions: [{ Type: 'authenticate-oidc' }] },
      },
      { redirectedTo: 'HTTPS:443' },
      /unexpected input/,
    ],
  ])('refuses %s', (_case, call, output, refused) => {
    // Act
    const planned = planAs(call, loadBalancer, 'ModifyListener', output);
    // Assess
    expect(refusal(planned)).toMatch(refused);
  });
});

describe('the undo of a Classic listener policy list', () => {
  it.each([
    [
      'a list the step did not replace',
      restoreClassicPolicies(['sticky', 'other-weak']),
      /the step recorded replacing/,
    ],
    ['the same list, reordered', restoreClassicPolicies(['weak', 'sticky']), /the step recorded replacing/],
    [
      'another listener of the load balancer',
      restoreClassicPolicies(['sticky', 'weak'], 80),
      /the step changed 443/,
    ],
    [
      'another load balancer',
      {
        ...restoreClassicPolicies(['sticky', 'weak']),
        input: { LoadBalancerName: 'other', LoadBalancerPort: 443, PolicyNames: ['sticky', 'weak'] },
      },
      /targets other, not ward7-classic/,
    ],
    [
      'an input the rule never records',
      {
        ...restoreClassicPolicies(['sticky', 'weak']),
        input: { LoadBalancerName: 'ward7-classic', LoadBalancerPort: 443, PolicyNames: [], Listeners: [] },
      },
      /unexpected input/,
    ],
  ])('refuses %s', (_case, call, refused) => {
    // Act
    const planned = planAs(call, classic, 'SetLoadBalancerPoliciesOfListener', CLASSIC_STEP);
    // Assess
    expect(refusal(planned)).toMatch(refused);
  });
});

describe('incidents show', () => {
  it('prints every documented field: what, who, when, evidence, steps with undo, alert, exemption, workflow, undo, HIPAA, runbook', () => {
    // Prepare
    const incident = withSteps(
      [
        step('CreateTags', 'succeeded', 'DeleteTags'),
        { ...step('Stop', 'failed'), error: 'UnsupportedOperation' },
      ],
      {
        actor: { arn: 'arn:aws:iam::123456789012:user/dev-alice', sourceIp: '198.51.100.23' },
        evidence: { encrypted: false, sizeGiB: 100 },
        alert: { status: 'sent', messageId: 'm-1', at: '2026-11-23T10:01:00.000Z' },
        exemption: {
          exemptionId: 'exm-1',
          reason: 'CHG-9',
          until: '2026-12-01T00:00:00.000Z',
          setBy: 'arn:aws:iam::123456789012:user/carol',
          setAt: '2026-11-20T00:00:00.000Z',
        },
        exemptionRequest: { until: '2026-12-02T00:00:00.000Z', note: 'not confirmed: exemptions add ...' },
        workflow: {
          startedAt: '2026-11-23T10:00:00.000Z',
          waitingFor: 'snapshot snap-1',
          state: { wasRunning: true },
        },
        undo: {
          by: 'arn:aws:iam::123456789012:user/bob',
          startedAt: '2026-11-23T11:00:00.000Z',
          finishedAt: '2026-11-23T11:00:01.000Z',
          result: 'succeeded',
          exemptForMinutes: 1440,
          calls: [
            {
              step: 0,
              call: { service: 'ec2', action: 'DeleteTags', input: {} },
              result: 'succeeded',
              at: '2026-11-23T11:00:01.000Z',
            },
          ],
        },
      },
    );
    // Act
    const text = incidentLines(incident, 'https://runbooks.example/r').join('\n');
    // Assess
    for (const expected of [
      `incident ${incident.incidentId}  [${incident.severity}] ${incident.ruleId}  ${incident.status}`,
      `what:      ${incident.reason}`,
      'who:       arn:aws:iam::123456789012:user/dev-alice from 198.51.100.23',
      `when:      detected ${incident.detectedAt}`,
      'evidence:  encrypted=false sizeGiB=100',
      `hipaa:     ${incident.hipaa.map((citation) => `§${citation}`).join(', ')}`,
      '1. CreateTags → succeeded at 2026-11-23T10:00:00.000Z',
      `undo:  ec2 DeleteTags {"Region":"eu-west-1","Resources":["vol-1"],"Tags":[{"Key":"${TAG}"}]}`,
      '2. Stop → failed',
      'error: UnsupportedOperation',
      'alert:     sent (message m-1) at 2026-11-23T10:01:00.000Z',
      'exemption: exm-1: CHG-9 (until 2026-12-01T00:00:00.000Z; set by arn:aws:iam::123456789012:user/carol at 2026-11-20T00:00:00.000Z)',
      'exemption request: until 2026-12-02T00:00:00.000Z: not confirmed: exemptions add ...',
      'workflow:  started 2026-11-23T10:00:00.000Z, waiting for snapshot snap-1; wasRunning=true',
      'undo:      succeeded by arn:aws:iam::123456789012:user/bob',
      '- ec2 DeleteTags (reverses step 1) → succeeded at 2026-11-23T11:00:01.000Z',
      `runbook:   https://runbooks.example/r/${incident.runbook.replace('docs/runbooks/', '')}`,
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('says who is unknown when a sweep found the drift, and shows the undo plan before asking', () => {
    // Prepare
    const incident = withSteps([step('CreateTags', 'succeeded', 'DeleteTags')], { actor: undefined });
    // Act
    const text = incidentLines(incident, 'https://x').join('\n');
    const plan = undoPlanLines({ ...planUndo(incident, CALLER), found: ['vol-1 exists in eu-west-1'] }, 1440);
    // Assess
    expect(text).toContain('who:       not known (found by a scheduled sweep or AWS Config)');
    expect(plan[1]).toBe(
      '  first the resource is to be exempted for 24h, so the responder does not revert the undo; then:',
    );
    expect(plan[2]).toBe(
      `  ec2 DeleteTags in eu-west-1 (reverses step 1, CreateTags): {"Region":"eu-west-1","Resources":["vol-1"],"Tags":[{"Key":"${TAG}"}]}`,
    );
    expect(plan[3]).toBe('    checked: vol-1 exists in eu-west-1');
  });

  it('shows who ordered a lockdown incident, why, past the guard and over which exemption', () => {
    // Prepare
    const by = 'arn:aws:sts::111122223333:assumed-role/compliance-responder-prod-on-call/bob';
    const incident = anIncident({
      actor: undefined,
      trigger: { source: 'command-line', eventId: 'cli-1#us-east-1#sg-0abc', eventName: 'ssh lockdown' },
      lockdown: {
        by,
        reason: 'INC-9 suspected key leak',
        runId: 'cli-20261123T120000-0a1b2c3d',
        startedAt: '2026-11-23T12:00:00.000Z',
        emergency: true,
        exemptionOverridden: {
          exemptionId: 'exm-20261123T110000-0a1b2c3d',
          reason: 'CHG-9',
          until: '2026-12-23T12:00:00.000Z',
          setBy: by,
          setAt: '2026-11-23T11:00:00.000Z',
        },
      },
    });
    // Act
    const text = incidentLines(incident, 'https://x').join('\n');
    // Assess
    expect(text).toContain('who:       not known (found by ssh lockdown)');
    expect(text).toContain('trigger:   command-line ssh lockdown (event cli-1#us-east-1#sg-0abc)');
    expect(text).toContain(
      `  lockdown:  ordered by ${by} at 2026-11-23T12:00:00.000Z (run cli-20261123T120000-0a1b2c3d), --emergency: past the blast-radius guard\n` +
        '    why:   INC-9 suspected key leak\n' +
        `    overrode exemption exm-20261123T110000-0a1b2c3d (until 2026-12-23T12:00:00.000Z; set by ${by})`,
    );
  });

  it('says what the undo will NOT reverse: the snapshot and the encrypted copy an EBS remediation made stay', () => {
    // Prepare: a detached volume's remediation as ebs-volume-encrypted records it
    const incident = withSteps([
      { ...step('CreateSnapshot', 'succeeded'), output: { snapshotId: 'snap-1', state: 'completed' } },
      { ...step('CreateEncryptedVolume', 'succeeded'), output: { volumeId: 'vol-2' } },
      step('QuarantineOriginal', 'succeeded', 'DeleteTags'),
      { ...step('Verify', 'succeeded'), output: {} },
    ]);
    // Act
    const plan = undoPlanLines({ ...planUndo(incident, CALLER), found: ['vol-1 exists in eu-west-1'] }, 1440);
    // Assess
    expect(plan.slice(-4)).toEqual([
      '  will NOT reverse (left as they are: delete them by hand once nothing needs them):',
      '    step 1 CreateSnapshot: snapshotId=snap-1 state=completed',
      '    step 2 CreateEncryptedVolume: volumeId=vol-2',
      '  (the Verify step only read)',
    ]);
  });

  it('says when the undo reverses everything the remediation changed', () => {
    // Prepare
    const incident = withSteps([
      step('QuarantineOriginal', 'succeeded', 'DeleteTags'),
      step('Verify', 'succeeded'),
    ]);
    // Act
    const plan = undoPlanLines({ ...planUndo(incident, CALLER), found: ['vol-1 exists in eu-west-1'] }, 1440);
    // Assess
    expect(plan.at(-1)).toBe('  everything the remediation changed is reversed');
  });
});

describe('the exemption an undo sets', () => {
  it('is as short as the rule allows: SSH reopened to the world never for a day by default', () => {
    // Act / Assess
    expect(undoExemptionMinutes('ssh-open-to-world')).toBe(60);
    expect(undoExemptionMinutes('ssh-grant-expired')).toBe(60);
    expect(undoExemptionMinutes('ebs-volume-encrypted')).toBe(1440);
    for (const rule of rules) expect(undoExemptionMinutes(rule.id)).toBeLessThanOrEqual(1440);
  });
});

describe('incidents undo without a reason', () => {
  it('is refused as a usage mistake before any AWS call, saying what to add', async () => {
    // Prepare
    const err: string[] = [];
    // Act
    const code = await main(
      ['node', 'compliance-responder', 'incidents', 'undo', 'inc-20261123T100000-0a1b2c3d', '--yes'],
      { out: () => {}, err: (line) => err.push(line) },
      { AWS_REGION: 'us-east-1', INCIDENT_TABLE: 'compliance-responder-test-incidents' },
    );
    // Assess: no client exists in this test: an AWS call would fail with a credentials error, not this
    expect(code).toBe(2);
    expect(err.join('\n')).toContain("required option '--reason <text>' not specified");
  });
});
