import { parseCloudTrailEvent, parseCloudTrailRecord } from '../../../shared/triggers/cloudtrail';
import { catchValidationError, loadEvent, objectAt } from './support';

const ADMIN_ACTOR = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::111122223333:assumed-role/PlatformAdmin/jdoe',
  principalId: 'AROAEXAMPLEROLEID1234:jdoe',
  accountId: '111122223333',
  sessionIssuerArn: 'arn:aws:iam::111122223333:role/PlatformAdmin',
  sourceIp: '198.51.100.24',
  userAgent: 'aws-cli/2.22.4 Python/3.12.6 Linux/6.8 exe/x86_64 command/ec2',
};

/** A minimal record for one eventName, for the table entries without a fixture of their own. */
const recordFor = (
  eventName: string,
  requestParameters: unknown,
  responseElements: unknown = null,
  eventSource = 'ec2.amazonaws.com',
) => ({
  ...objectAt(loadEvent('cloudtrail-create-volume.json'), 'detail'),
  eventName,
  eventSource,
  requestParameters,
  responseElements,
});

/**
 * The service that logs calls on a resource type: AWS::CloudTrail::Trail → cloudtrail.amazonaws.com.
 * The account-level settings mapped (AWS::::Account) are EC2's: EBS encryption by default.
 */
const serviceOf = (resourceType: string) =>
  `${(resourceType.split('::')[1] || 'ec2').toLowerCase()}.amazonaws.com`;

const resourcesOf = (result: ReturnType<typeof parseCloudTrailRecord>) =>
  result.kind === 'resources' ? result.observations.map((o) => [o.resourceType, o.resourceId]) : [];

describe('parseCloudTrailEvent', () => {
  it('observes the account for DisableEbsEncryptionByDefault, with the actor who called it', () => {
    // Prepare
    const event = loadEvent('cloudtrail-disable-ebs-encryption-by-default.json');

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [
        {
          source: 'cloudtrail',
          eventId: '0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d',
          eventName: 'DisableEbsEncryptionByDefault',
          accountId: '111122223333',
          region: 'eu-west-1',
          resourceType: 'AWS::::Account',
          resourceId: '111122223333',
          observedAt: '2025-03-04T09:15:21Z',
          actor: ADMIN_ACTOR,
          summary: { eventName: 'DisableEbsEncryptionByDefault', eventSource: 'ec2.amazonaws.com' },
          request: expect.any(Function),
        },
      ],
    });
  });

  it('hands the request parameters over as a function, so they never serialise with the observation', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    // Act
    const result = parseCloudTrailEvent(event);
    // Assess
    const [observation] = result.kind === 'resources' ? result.observations : [];
    expect(observation?.request?.()).toEqual(objectAt(objectAt(event, 'detail'), 'requestParameters'));
    expect(JSON.stringify(observation)).not.toContain('requestParameters');
  });

  it('observes the created volume with safe facts and no tag values', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(result).toMatchObject({
      kind: 'resources',
      observations: [
        {
          resourceType: 'AWS::EC2::Volume',
          resourceId: 'vol-0a1b2c3d4e5f60718',
          region: 'us-east-1',
          summary: { eventName: 'CreateVolume', encrypted: false, volumeType: 'gp3' },
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('cardiology-2025');
  });

  it('observes the security group named in AuthorizeSecurityGroupIngress', () => {
    // Prepare
    const event = loadEvent('cloudtrail-authorize-security-group-ingress.json');

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(resourcesOf(result)).toEqual([['AWS::EC2::SecurityGroup', 'sg-0123456789abcdef0']]);
  });

  it('takes the group from the response rules when the request names it only by name', () => {
    // Prepare
    const event = loadEvent('cloudtrail-authorize-security-group-ingress.json');
    const request = objectAt(event, 'detail', 'requestParameters');
    delete request.groupId;
    request.groupName = 'default';

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(resourcesOf(result)).toEqual([['AWS::EC2::SecurityGroup', 'sg-0123456789abcdef0']]);
  });

  it('observes every instance RunInstances started, in order', () => {
    // Prepare
    const event = loadEvent('cloudtrail-run-instances.json');

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(resourcesOf(result)).toEqual([
      ['AWS::EC2::Instance', 'i-0aaaaaaaaaaaaaaa1'],
      ['AWS::EC2::Instance', 'i-0aaaaaaaaaaaaaaa2'],
    ]);
    expect(result.kind === 'resources' && result.observations[1]?.summary.instanceType).toBe('m7i.large');
  });

  it('observes the IAM user of UploadSSHPublicKey in the region the event names, without the key body', () => {
    // Prepare
    const event = loadEvent('cloudtrail-upload-ssh-public-key.json');

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(result).toMatchObject({
      observations: [
        {
          resourceType: 'AWS::IAM::User',
          resourceId: 'build-bot',
          region: 'us-east-1',
          actor: {
            type: 'IAMUser',
            arn: 'arn:aws:iam::111122223333:user/jdoe',
            userAgent: 'console.amazonaws.com',
          },
          summary: { sshPublicKeyId: 'APKAEXAMPLEKEYID0001' },
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('ssh-ed25519');
  });

  it('reports a failed call (errorCode) as ignored, with no observations', () => {
    // Prepare
    const event = loadEvent('cloudtrail-disable-ebs-encryption-by-default.json');
    Object.assign(objectAt(event, 'detail'), {
      errorCode: 'Client.UnauthorizedOperation',
      errorMessage: 'You are not authorized to perform this operation.',
      responseElements: null,
    });

    // Act
    const result = parseCloudTrailEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [],
      ignored: 'call failed: Client.UnauthorizedOperation',
    });
  });

  it('refuses an eventName with no resource mapping, naming detail.eventName', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    objectAt(event, 'detail').eventName = 'DescribeVolumes';

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail.eventName');
    expect(error.message).toBe('detail.eventName: no resource mapping for "DescribeVolumes"');
  });

  it('refuses an unmapped eventName even when the call failed (a routing mistake must reach the DLQ)', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    Object.assign(objectAt(event, 'detail'), { eventName: 'toString', errorCode: 'AccessDenied' });

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail.eventName');
  });

  it('refuses an envelope whose account is not a string', () => {
    // Prepare
    const event = { ...loadEvent('cloudtrail-create-volume.json'), account: 111122223333 };

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('account');
    expect(error.message).toMatch(/^account: expected string, received number/);
  });

  it('refuses a CreateVolume record without the created volume id', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    delete objectAt(event, 'detail', 'responseElements').volumeId;

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail.responseElements.volumeId');
  });

  it('refuses a RunInstances record whose instance id has the wrong type', () => {
    // Prepare
    const event = loadEvent('cloudtrail-run-instances.json');
    const items = objectAt(event, 'detail', 'responseElements', 'instancesSet').items as Record<
      string,
      unknown
    >[];
    items[1] = { ...items[1], instanceId: 12 };

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail.responseElements.instancesSet.items[1].instanceId');
  });

  it('refuses an eventID over 1024 characters', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    objectAt(event, 'detail').eventID = 'e'.repeat(1025);

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail.eventID');
  });

  it('refuses a record with no userIdentity', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    delete objectAt(event, 'detail').userIdentity;

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail.userIdentity');
  });

  it('refuses another detail-type', () => {
    // Prepare
    const event = {
      ...loadEvent('cloudtrail-create-volume.json'),
      'detail-type': 'AWS Console Sign In via CloudTrail',
    };

    // Act
    const error = catchValidationError(() => parseCloudTrailEvent(event));

    // Assess
    expect(error.field).toBe('detail-type');
  });
});

describe('parseCloudTrailRecord', () => {
  it('parses a bare record, taking the account from recipientAccountId', () => {
    // Prepare
    const record = objectAt(loadEvent('cloudtrail-create-volume.json'), 'detail');

    // Act
    const result = parseCloudTrailRecord(record);

    // Assess
    expect(result).toMatchObject({
      observations: [{ accountId: '111122223333', resourceId: 'vol-0a1b2c3d4e5f60718', actor: ADMIN_ACTOR }],
    });
  });

  it('refuses a bare record that names no account', () => {
    // Prepare
    const record = objectAt(loadEvent('cloudtrail-create-volume.json'), 'detail');
    delete record.recipientAccountId;
    delete objectAt(record, 'userIdentity').accountId;

    // Act
    const error = catchValidationError(() => parseCloudTrailRecord(record));

    // Assess
    expect(error.field).toBe('recipientAccountId');
  });

  it('names fields without a prefix for a bare record', () => {
    // Prepare
    const record = {
      ...objectAt(loadEvent('cloudtrail-create-volume.json'), 'detail'),
      eventName: 'GetObject',
    };

    // Act
    const error = catchValidationError(() => parseCloudTrailRecord(record));

    // Assess
    expect(error.field).toBe('eventName');
  });

  it.each([
    ['EnableEbsEncryptionByDefault', {}, null, 'AWS::::Account', '111122223333'],
    ['ModifyEbsDefaultKmsKeyId', { kmsKeyId: 'alias/phi' }, null, 'AWS::::Account', '111122223333'],
    ['ResetEbsDefaultKmsKeyId', {}, null, 'AWS::::Account', '111122223333'],
    [
      'AttachVolume',
      { volumeId: 'vol-0c', instanceId: 'i-0c', device: '/dev/sdf' },
      null,
      'AWS::EC2::Volume',
      'vol-0c',
    ],
    [
      'ModifySecurityGroupRules',
      {
        ModifySecurityGroupRulesRequest: {
          GroupId: 'sg-0d',
          SecurityGroupRule: { SecurityGroupRuleId: 'sgr-1' },
        },
      },
      null,
      'AWS::EC2::SecurityGroup',
      'sg-0d',
    ],
    [
      'StartInstances',
      { instancesSet: { items: [{ instanceId: 'i-0e' }] } },
      { instancesSet: { items: [{ instanceId: 'i-0e', currentState: { code: 0, name: 'pending' } }] } },
      'AWS::EC2::Instance',
      'i-0e',
    ],
    [
      'ModifyInstancePlacement',
      { instanceId: 'i-0f', tenancy: 'dedicated' },
      null,
      'AWS::EC2::Instance',
      'i-0f',
    ],
    ['StopLogging', { name: 'org-trail' }, null, 'AWS::CloudTrail::Trail', 'org-trail'],
    [
      'StartLogging',
      { name: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail' },
      null,
      'AWS::CloudTrail::Trail',
      'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail',
    ],
    ['DeleteTrail', { name: 'org-trail' }, null, 'AWS::CloudTrail::Trail', 'org-trail'],
    [
      'UpdateTrail',
      { name: 'org-trail', isMultiRegionTrail: false },
      null,
      'AWS::CloudTrail::Trail',
      'org-trail',
    ],
    [
      'StopConfigurationRecorder',
      { configurationRecorderName: 'default' },
      null,
      'AWS::Config::ConfigurationRecorder',
      'default',
    ],
    [
      'DeleteConfigurationRecorder',
      { configurationRecorderName: 'default' },
      null,
      'AWS::Config::ConfigurationRecorder',
      'default',
    ],
    [
      'UpdateSSHPublicKey',
      { userName: 'build-bot', sSHPublicKeyId: 'APKA1', status: 'Active' },
      null,
      'AWS::IAM::User',
      'build-bot',
    ],
  ])('maps %s to its resource', (eventName, request, response, resourceType, resourceId) => {
    // Prepare
    const record = recordFor(eventName, request, response, serviceOf(resourceType));

    // Act
    const result = parseCloudTrailRecord(record);

    // Assess
    expect(resourcesOf(result)).toEqual([[resourceType, resourceId]]);
  });

  it('refuses a mapped call logged by another service: routing honours the eventSource', () => {
    // Prepare: StopLogging, as if EC2 had logged it
    const record = recordFor('StopLogging', { name: 'org-trail' }, null, 'ec2.amazonaws.com');

    // Act
    const error = catchValidationError(() => parseCloudTrailRecord(record));

    // Assess
    expect(error.field).toBe('eventSource');
    expect(error.message).toContain('StopLogging is mapped for cloudtrail.amazonaws.com');
  });

  it('names the missing request parameter', () => {
    // Prepare
    const record = recordFor('StopLogging', { trailName: 'org-trail' }, null, 'cloudtrail.amazonaws.com');

    // Act
    const error = catchValidationError(() => parseCloudTrailRecord(record, { fieldPrefix: 'detail' }));

    // Assess
    expect(error.field).toBe('detail.requestParameters.name');
  });

  it('names the request parameters when they are null', () => {
    // Prepare
    const record = recordFor('AttachVolume', null);

    // Act
    const error = catchValidationError(() => parseCloudTrailRecord(record));

    // Assess
    expect(error.field).toBe('requestParameters');
  });
});

describe('calls on the responder’s own stack (self-protection)', () => {
  const stackCall = (eventSource: string, eventName: string, requestParameters: unknown) => ({
    ...recordFor(eventName, requestParameters),
    eventSource,
  });

  it.each([
    [
      'events.amazonaws.com',
      'DisableRule',
      { name: 'compliance-responder-dev-x-rule-1' },
      'AWS::Events::Rule',
      'compliance-responder-dev-x-rule-1',
    ],
    ['events.amazonaws.com', 'RemoveTargets', { rule: 'r-1', ids: ['1'] }, 'AWS::Events::Rule', 'r-1'],
    [
      'lambda.amazonaws.com',
      'PutFunctionConcurrency20171031',
      { functionName: 'fn', reservedConcurrentExecutions: 0 },
      'AWS::Lambda::Function',
      'fn',
    ],
    [
      'dynamodb.amazonaws.com',
      'UpdateTable',
      { tableName: 't', deletionProtectionEnabled: false },
      'AWS::DynamoDB::Table',
      't',
    ],
    [
      'kms.amazonaws.com',
      'ScheduleKeyDeletion',
      { keyId: 'k-1', pendingWindowInDays: 7 },
      'AWS::KMS::Key',
      'k-1',
    ],
    [
      'sns.amazonaws.com',
      'Unsubscribe',
      { subscriptionArn: 'arn:aws:sns:us-east-1:111122223333:alerts:1' },
      'AWS::SNS::Subscription',
      'arn:aws:sns:us-east-1:111122223333:alerts:1',
    ],
  ])('maps %s %s to the resource it touched', (source, name, parameters, resourceType, resourceId) => {
    // Act
    const result = parseCloudTrailRecord(stackCall(source, name, parameters));
    // Assess
    expect(resourcesOf(result)).toEqual([[resourceType, resourceId]]);
  });

  it.each([
    [
      'lambda.amazonaws.com',
      'RemovePermission20150331v2',
      { functionName: 'fn', statementId: 's' },
      'AWS::Lambda::Function',
      'fn',
    ],
    [
      'lambda.amazonaws.com',
      'AddPermission20150331v2',
      { functionName: 'fn', statementId: 's' },
      'AWS::Lambda::Function',
      'fn',
    ],
    ['iam.amazonaws.com', 'PutRolePolicy', { roleName: 'r', policyName: 'p' }, 'AWS::IAM::Role', 'r'],
    ['iam.amazonaws.com', 'DeleteRolePermissionsBoundary', { roleName: 'r' }, 'AWS::IAM::Role', 'r'],
    ['kms.amazonaws.com', 'PutKeyPolicy', { keyId: 'k-1', policyName: 'default' }, 'AWS::KMS::Key', 'k-1'],
    ['kms.amazonaws.com', 'DisableKeyRotation', { keyId: 'k-1' }, 'AWS::KMS::Key', 'k-1'],
    [
      'sns.amazonaws.com',
      'SetSubscriptionAttributes',
      { subscriptionArn: 's-1', attributeName: 'FilterPolicy' },
      'AWS::SNS::Subscription',
      's-1',
    ],
    [
      'logs.amazonaws.com',
      'PutRetentionPolicy',
      { logGroupName: '/aws/lambda/fn', retentionInDays: 1 },
      'AWS::Logs::LogGroup',
      '/aws/lambda/fn',
    ],
    [
      'cloudtrail.amazonaws.com',
      'PutEventSelectors',
      { trailName: 'main', eventSelectors: [] },
      'AWS::CloudTrail::Trail',
      'main',
    ],
    [
      'config.amazonaws.com',
      'PutConfigurationRecorder',
      { configurationRecorder: { name: 'default', roleARN: 'arn:r' } },
      'AWS::Config::ConfigurationRecorder',
      'default',
    ],
  ])(
    'maps %s %s (silencing by configuration) to the resource it touched',
    (source, name, parameters, resourceType, resourceId) => {
      // Act
      const result = parseCloudTrailRecord(stackCall(source, name, parameters));
      // Assess
      expect(resourcesOf(result)).toEqual([[resourceType, resourceId]]);
    },
  );

  it.each(['DisableAlarmActions', 'DeleteAlarms'])('maps %s to every alarm it names', (name) => {
    // Act
    const result = parseCloudTrailRecord(
      stackCall('monitoring.amazonaws.com', name, { alarmNames: ['a-1', 'a-2'] }),
    );
    // Assess
    expect(resourcesOf(result)).toEqual([
      ['AWS::CloudWatch::Alarm', 'a-1'],
      ['AWS::CloudWatch::Alarm', 'a-2'],
    ]);
  });

  it('never copies a subscription attribute’s value (a filter policy) into the summary', () => {
    // Act
    const result = parseCloudTrailRecord(
      stackCall('sns.amazonaws.com', 'SetSubscriptionAttributes', {
        subscriptionArn: 's-1',
        attributeName: 'FilterPolicy',
        attributeValue: '{"severity":["silenced-value"]}',
      }),
    );
    // Assess
    expect(JSON.stringify(result)).not.toContain('silenced-value');
    expect(JSON.stringify(result)).toContain('FilterPolicy');
  });

  it.each([
    'UpdateFunctionConfiguration20150331v2',
    'UpdateFunctionConfiguration',
    'UpdateFunctionCode20150331v2',
    'UpdateFunctionCode',
  ])(
    'maps %s to its function and never copies the request’s environment (its values may be secrets)',
    (name) => {
      // Prepare
      const parameters = { functionName: 'fn', environment: { variables: { API_TOKEN: 'secret-value' } } };
      // Act
      const result = parseCloudTrailRecord(stackCall('lambda.amazonaws.com', name, parameters));
      // Assess
      expect(resourcesOf(result)).toEqual([['AWS::Lambda::Function', 'fn']]);
      expect(JSON.stringify(result)).not.toMatch(/secret-value|API_TOKEN/);
    },
  );

  it('refuses a same-named call of another service (DeleteRule of a load balancer)', () => {
    // Act
    const error = catchValidationError(() =>
      parseCloudTrailRecord(
        stackCall('elasticloadbalancing.amazonaws.com', 'DeleteRule', { ruleArn: 'arn' }),
      ),
    );
    // Assess
    expect(error.field).toBe('eventSource');
    expect(error.message).toContain('DeleteRule is mapped for events.amazonaws.com');
  });
});

describe('Elastic Load Balancing: v2 and Classic share an event source and some call names', () => {
  const ELB = 'elasticloadbalancing.amazonaws.com';
  const LB = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188';
  const v2Create = (apiVersion?: string) => ({
    ...recordFor('CreateLoadBalancer', { name: 'web' }, { loadBalancers: [{ loadBalancerArn: LB }] }, ELB),
    apiVersion,
  });
  const classicCreate = (apiVersion?: string) => ({
    ...recordFor('CreateLoadBalancer', { loadBalancerName: 'legacy', listeners: [] }, { dNSName: 'x' }, ELB),
    apiVersion,
  });

  it.each([
    ['v2 by its API version', v2Create('2015-12-01'), 'AWS::ElasticLoadBalancingV2::LoadBalancer', LB],
    [
      'v2 by its request, without an API version',
      v2Create(),
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      LB,
    ],
    [
      'Classic by its API version',
      classicCreate('2012-06-01'),
      'AWS::ElasticLoadBalancing::LoadBalancer',
      'legacy',
    ],
    [
      'Classic by its request, without an API version',
      classicCreate(),
      'AWS::ElasticLoadBalancing::LoadBalancer',
      'legacy',
    ],
  ])('maps CreateLoadBalancer of %s', (_case, record, type, id) => {
    // Act
    const result = parseCloudTrailRecord(record);
    // Assess
    expect(resourcesOf(result)).toEqual([[type, id]]);
  });

  it('refuses a CreateLoadBalancer of an API version it does not know, naming apiVersion', () => {
    // Act
    const error = catchValidationError(() => parseCloudTrailRecord(v2Create('2099-01-01')));
    // Assess
    expect(error.field).toBe('apiVersion');
  });

  it.each([
    ['CreateListener', { loadBalancerArn: LB }],
    ['ModifyListener', { listenerArn: LB.replace('loadbalancer/', 'listener/').concat('/0467ef3c8400ae65') }],
    ['CreateRule', { listenerArn: LB.replace('loadbalancer/', 'listener/').concat('/0467ef3c8400ae65') }],
    [
      'ModifyRule',
      { ruleArn: LB.replace('loadbalancer/', 'listener-rule/').concat('/0467ef3c8400ae65/9683b2d02a6cabee') },
    ],
  ])('maps %s to the load balancer its ARN belongs to', (eventName, requestParameters) => {
    // Act
    const result = parseCloudTrailRecord({
      ...recordFor(eventName, requestParameters, null, ELB),
      apiVersion: '2015-12-01',
    });
    // Assess
    expect(resourcesOf(result)).toEqual([['AWS::ElasticLoadBalancingV2::LoadBalancer', LB]]);
  });

  it('refuses a listener ARN of another service, naming the field', () => {
    // Act
    const error = catchValidationError(() =>
      parseCloudTrailRecord(recordFor('ModifyListener', { listenerArn: 'arn:aws:s3:::bucket' }, null, ELB)),
    );
    // Assess
    expect(error.field).toBe('requestParameters.listenerArn');
  });
});

describe('tag calls on load balancers (elasticloadbalancing AddTags and RemoveTags)', () => {
  const ELB = 'elasticloadbalancing.amazonaws.com';
  const LB = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188';
  const LISTENER =
    'arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
  const TARGETS = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/73e2d6bc24d8a067';
  const tagCall = (eventName: string, requestParameters: unknown, apiVersion?: string) => ({
    ...recordFor(eventName, requestParameters, null, ELB),
    ...(apiVersion && { apiVersion }),
  });

  it.each([
    ['AddTags', { resourceArns: [LISTENER, LB, TARGETS], tags: [{ key: 'phi', value: 'secret-v' }] }, 'set'],
    ['RemoveTags', { resourceArns: [LB, TARGETS], tagKeys: ['phi', 'Name'] }, 'remove'],
  ])(
    '%s names the v2 load balancers among its resources, with the keys and never the values',
    (eventName, request, change) => {
      // Act
      const parsed = parseCloudTrailRecord(tagCall(eventName, request, '2015-12-01'));
      // Assess: a listener's or target group's tags are not the load balancer's
      expect(resourcesOf(parsed)).toEqual([['AWS::ElasticLoadBalancingV2::LoadBalancer', LB]]);
      if (parsed.kind !== 'resources') throw new Error('expected resources');
      expect(parsed.observations[0]?.summary).toMatchObject({ tagChange: change });
      expect(JSON.parse(String(parsed.observations[0]?.summary.tagKeys))).toContain('phi');
      expect(JSON.stringify(parsed)).not.toContain('secret-v');
    },
  );

  it.each([
    ['by its API version', '2012-06-01'],
    ['by its request, without an API version', undefined],
  ])('tells a Classic tag call apart %s (another type: the v2 rule leaves it alone)', (_case, apiVersion) => {
    // Act
    const parsed = parseCloudTrailRecord(
      tagCall('RemoveTags', { loadBalancerNames: ['legacy'], tags: [{ key: 'phi' }] }, apiVersion),
    );
    // Assess
    expect(resourcesOf(parsed)).toEqual([['AWS::ElasticLoadBalancing::LoadBalancer', 'legacy']]);
  });
});

describe('tag calls on instances', () => {
  const tagging = (eventName: string, ids: string[], keys?: string[]) =>
    recordFor(eventName, {
      resourcesSet: { items: ids.map((resourceId) => ({ resourceId })) },
      ...(keys && { tagSet: { items: keys.map((key) => ({ key, value: 'v' })) } }),
    });

  it('names the instances among the tagged resources, with the tag keys and never their values', () => {
    // Act
    const parsed = parseCloudTrailRecord(tagging('DeleteTags', ['vol-0a', 'i-0a', 'sg-0a'], ['phi', 'Name']));
    // Assess
    if (parsed.kind !== 'resources') throw new Error('expected resources');
    expect(parsed.observations.map((observation) => observation.resourceId)).toEqual(['i-0a']);
    expect(parsed.observations[0]?.summary).toMatchObject({ tagKeys: '["phi","Name"]' });
    expect(JSON.stringify(parsed)).not.toContain('"v"');
  });

  it('observes nothing for a tag call on other resources, and says when every tag went', () => {
    // Act
    const volumes = parseCloudTrailRecord(tagging('CreateTags', ['vol-0a'], ['phi']));
    const everyTag = parseCloudTrailRecord(tagging('DeleteTags', ['i-0b']));
    // Assess
    expect(volumes).toMatchObject({ kind: 'resources', observations: [] });
    if (everyTag.kind !== 'resources') throw new Error('expected resources');
    expect(everyTag.observations[0]?.summary.tagKeys).toBeUndefined();
  });

  it('maps BatchDeleteImage to each image it deleted (by digest, from the response), never its tags', () => {
    // Prepare: one deleted by tag, one by digest, one that failed
    const kept = `sha256:${'3'.repeat(64)}`;
    const record = recordFor(
      'BatchDeleteImage',
      { repositoryName: 'claims/api', imageIds: [{ imageTag: 'rel-secret-label' }, { imageDigest: kept }] },
      {
        imageIds: [
          { imageDigest: `sha256:${'1'.repeat(64)}`, imageTag: 'rel-secret-label' },
          { imageDigest: `sha256:${'2'.repeat(64)}` },
        ],
        failures: [{ imageId: { imageDigest: kept }, failureCode: 'ImageNotFound' }],
      },
      'ecr.amazonaws.com',
    );

    // Act
    const result = parseCloudTrailRecord(record);

    // Assess
    expect(resourcesOf(result)).toEqual([
      ['AWS::ECR::Image', `claims/api@sha256:${'1'.repeat(64)}`],
      ['AWS::ECR::Image', `claims/api@sha256:${'2'.repeat(64)}`],
    ]);
    expect(JSON.stringify(result)).not.toContain('rel-secret-label');
  });
});

describe('tag calls on ECS task definitions (ecs TagResource and UntagResource)', () => {
  const ECS = 'ecs.amazonaws.com';
  const REVISION = 'arn:aws:ecs:us-east-1:111122223333:task-definition/claims:3';
  const CLUSTER = 'arn:aws:ecs:us-east-1:111122223333:cluster/phi';
  const SERVICE = 'arn:aws:ecs:us-east-1:111122223333:service/phi/claims-api';

  it.each([
    ['TagResource', { resourceArn: REVISION, tags: [{ key: 'phi', value: 'secret-v' }] }, 'set'],
    ['UntagResource', { resourceArn: REVISION, tagKeys: ['phi', 'Name'] }, 'remove'],
  ])('%s names the revision, with the keys and never the values', (eventName, request, change) => {
    // Act
    const parsed = parseCloudTrailRecord(recordFor(eventName, request, null, ECS));
    // Assess
    expect(resourcesOf(parsed)).toEqual([['AWS::ECS::TaskDefinition', 'claims:3']]);
    if (parsed.kind !== 'resources') throw new Error('expected resources');
    expect(parsed.observations[0]?.summary).toMatchObject({ tagChange: change });
    expect(JSON.parse(String(parsed.observations[0]?.summary.tagKeys))).toContain('phi');
    expect(JSON.stringify(parsed)).not.toContain('secret-v');
  });

  it.each([
    ['a cluster', CLUSTER],
    ['a service', SERVICE],
  ])('observes nothing for a tag call on %s (its tags are not a revision’s)', (_case, resourceArn) => {
    // Act
    const parsed = parseCloudTrailRecord(
      recordFor('UntagResource', { resourceArn, tagKeys: ['phi'] }, null, ECS),
    );
    // Assess
    expect(parsed).toMatchObject({ kind: 'resources', observations: [] });
  });

  it('refuses a tag call without the resource it tags, naming the field', () => {
    // Act
    const error = catchValidationError(() =>
      parseCloudTrailRecord(recordFor('TagResource', { tags: [{ key: 'phi', value: 'v' }] }, null, ECS)),
    );
    // Assess
    expect(error.field).toBe('requestParameters.resourceArn');
  });
});
