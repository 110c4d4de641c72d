import {
  CLOUDTRAIL,
  HOME_TEMPLATE,
  type Json,
  ofType,
  type Pattern,
  packagedTemplate,
  patternsOf,
  type Resource,
  resourcesOf,
  strings,
  subscriptions,
  type Target,
  uncovered,
  withoutOrganisationRouting,
} from '../support/templates';

const FORWARDER_TEMPLATE = packagedTemplate('serverless-forwarder');
/** scripts/template-check.sh packages the forwarder in eu-west-1 for a home stack in us-east-1. */
const HOME_REGION = 'us-east-1';
const HOME_BUS = {
  'Fn::Sub': `arn:\${AWS::Partition}:events:${HOME_REGION}:\${AWS::AccountId}:event-bus/default`,
};

describe('the forwarder stack in its packaged template', () => {
  const home = resourcesOf(HOME_TEMPLATE);
  const forwarder = resourcesOf(FORWARDER_TEMPLATE);
  const rules = ofType(forwarder, 'AWS::Events::Rule');
  // The organisation's own bus-policy routing watches the home region's bus: never forwarded.
  const homePatterns = patternsOf(withoutOrganisationRouting(home));
  const forwardedPatterns = patternsOf(forwarder);

  it('holds only rules, their role, dead-letter queue, key, alarms and topic: nothing of the home stack', () => {
    // Prepare
    const allowed = new Set([
      'AWS::Events::Rule',
      'AWS::IAM::Role',
      // The role's permissions boundary.
      'AWS::IAM::ManagedPolicy',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
      'AWS::KMS::Key',
      'AWS::KMS::Alias',
      'AWS::SNS::Topic',
      'AWS::SNS::Subscription',
      'AWS::CloudWatch::Alarm',
      // The framework's deployment bucket, in every stack it deploys.
      'AWS::S3::Bucket',
      'AWS::S3::BucketPolicy',
    ]);
    const names = (resources: Record<string, Resource>, type: string, property: string) =>
      ofType(resources, type).map(([, resource]) => resource.Properties[property]);
    // Assess
    expect(Object.values(forwarder).filter((resource) => !allowed.has(resource.Type))).toEqual([]);
    expect(rules.length).toBeGreaterThan(0);
    for (const [type, property] of [
      ['AWS::SNS::Topic', 'TopicName'],
      ['AWS::SQS::Queue', 'QueueName'],
      ['AWS::KMS::Alias', 'AliasName'],
    ] as const) {
      const ours = names(forwarder, type, property);
      expect(ours).toHaveLength(1);
      expect(names(home, type, property)).not.toContain(ours[0]);
    }
  });

  it('forwards every CloudTrail call and EBS notification a home function subscribes to', () => {
    // Prepare
    const subscribed = subscriptions(homePatterns);
    // Assess: the home template does subscribe to both kinds, and the forwarder lets each through
    expect(subscribed.filter(({ name }) => name.includes('EBS ')).length).toBeGreaterThan(0);
    expect(subscribed.filter(({ name }) => name.startsWith('aws.iam ')).length).toBeGreaterThan(0);
    expect(uncovered(forwardedPatterns, homePatterns)).toEqual([]);
  });

  it('would name a home subscription the forwarder does not let through', () => {
    // Prepare: a home function subscribing to one more call, and one more notification
    const extra: Pattern[] = [
      {
        source: ['aws.ec2'],
        'detail-type': [CLOUDTRAIL],
        detail: { eventSource: ['ec2.amazonaws.com'], eventName: ['DeleteVolume'] },
      },
      { source: ['aws.ec2'], 'detail-type': ['EBS Multi-Volume Snapshots Completion Status'] },
    ];
    // Act
    const missing = uncovered(forwardedPatterns, [...homePatterns, ...extra]);
    // Assess
    expect(missing).toEqual([
      'aws.ec2 ec2.amazonaws.com DeleteVolume',
      'aws.ec2 EBS Multi-Volume Snapshots Completion Status',
    ]);
  });

  it('forwards nothing no home function subscribes to', () => {
    // Prepare: every value each home pattern names, by field
    const named = (field: (pattern: Pattern) => Json | undefined) =>
      new Set(
        homePatterns
          .flatMap((pattern) => (field(pattern) as Json[] | undefined) ?? [])
          .map((v) => JSON.stringify(v)),
      );
    const detail = (pattern: Pattern) => (pattern.detail ?? {}) as Pattern;
    const fields = {
      source: (pattern: Pattern) => pattern.source,
      'detail-type': (pattern: Pattern) => pattern['detail-type'],
      eventSource: (pattern: Pattern) => detail(pattern).eventSource,
      eventName: (pattern: Pattern) => detail(pattern).eventName,
    };
    for (const pattern of forwardedPatterns) {
      for (const [name, field] of Object.entries(fields)) {
        // Assess
        const homeValues = named(field);
        const extra = ((field(pattern) as Json[] | undefined) ?? []).filter(
          (v) => !homeValues.has(JSON.stringify(v)),
        );
        expect([name, extra]).toEqual([name, []]);
      }
      // Never AWS Config's own events: their drift's API call is forwarded, and the sweep covers the rest.
      expect(strings(pattern['detail-type']).filter((type) => type.startsWith('Config '))).toEqual([]);
    }
  });

  it("targets only the home region's default bus, through the one role, dead-lettering to the KMS-encrypted queue", () => {
    // Prepare
    const [roleId] = ofType(forwarder, 'AWS::IAM::Role').map(([id]) => id);
    const [queueId, queue] = ofType(forwarder, 'AWS::SQS::Queue')[0] ?? [];
    for (const [id, rule] of rules) {
      // Assess
      const targets = rule.Properties.Targets as unknown as Target[];
      expect([id, targets.map((target) => [target.Arn, target.RoleArn, target.DeadLetterConfig])]).toEqual([
        id,
        [[HOME_BUS, { 'Fn::GetAtt': [roleId, 'Arn'] }, { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } }]],
      ]);
      expect(rule.Properties.EventBusName).toBeUndefined();
    }
    const key = JSON.stringify(queue?.Properties.KmsMasterKeyId).match(/"Ref":"(\w+)"/)?.[1];
    expect(forwarder[key ?? '']?.Type).toBe('AWS::KMS::Key');
    expect(forwarder[key ?? '']?.Properties.EnableKeyRotation).toBe(true);
  });

  it("lets the role do one thing: events:PutEvents on the home region's default bus", () => {
    // Prepare
    const roles = ofType(forwarder, 'AWS::IAM::Role');
    const role = roles[0]?.[1].Properties as {
      AssumeRolePolicyDocument: { Statement: { Principal: Json; Action: Json }[] };
      Policies: { PolicyDocument: { Statement: { Effect: string; Action: Json; Resource: Json }[] } }[];
      ManagedPolicyArns?: Json;
    };
    // Assess
    expect(roles).toHaveLength(1);
    expect(
      role.AssumeRolePolicyDocument.Statement.map((statement) => [statement.Principal, statement.Action]),
    ).toEqual([[{ Service: 'events.amazonaws.com' }, 'sts:AssumeRole']]);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies.flatMap((policy) => policy.PolicyDocument.Statement)).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: HOME_BUS },
    ]);
  });

  it("lets only the forwarder's own rules dead-letter to its queue", () => {
    // Prepare
    const statements = ofType(forwarder, 'AWS::SQS::QueuePolicy').flatMap(
      ([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: { Principal: Json; Condition: Json }[] }).Statement,
    );
    const sourceArn = JSON.stringify(statements.map((statement) => statement.Condition));
    const rulePrefix = /rule\/([\w-]+)\*/.exec(sourceArn)?.[1];
    // Assess
    expect(statements.map((statement) => statement.Principal)).toEqual([{ Service: 'events.amazonaws.com' }]);
    expect(rulePrefix).toBeDefined();
    for (const [, rule] of rules) expect(String(rule.Properties.Name)).toMatch(new RegExp(`^${rulePrefix}`));
  });

  it("pages this region's topic when a rule fails to forward or events wait in the dead-letter queue", () => {
    // Prepare
    const [topicId] = ofType(forwarder, 'AWS::SNS::Topic').map(([id]) => id);
    const alarms = ofType(forwarder, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const watched = (metric: string) =>
      alarms.filter((alarm) => alarm.MetricName === metric).map((alarm) => JSON.stringify(alarm.Dimensions));
    // Assess
    expect(watched('FailedInvocations').sort()).toEqual(
      rules.map(([id]) => JSON.stringify([{ Name: 'RuleName', Value: { Ref: id } }])).sort(),
    );
    expect(watched('ApproximateNumberOfMessagesVisible')).toHaveLength(1);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});

describe('the home stack receiving forwarded events', () => {
  const home = resourcesOf(HOME_TEMPLATE);

  it('routes them unchanged: its rules are on the default bus and filter on no region or account', () => {
    // Prepare: forwarded events keep the region and account of the original call
    const rules = ofType(home, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventPattern);
    // Assess
    expect(rules.length).toBeGreaterThan(0);
    for (const [id, rule] of rules) {
      const pattern = rule.Properties.EventPattern as Pattern;
      expect([id, rule.Properties.EventBusName, 'region' in pattern, 'account' in pattern]).toEqual([
        id,
        undefined,
        false,
        false,
      ]);
    }
  });
});
