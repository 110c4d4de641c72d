import { modeVariable } from '../../shared/config';
import { sweepFunctionName, sweepQueueTail } from '../../shared/pipeline/sweep-names';
import { SWEEP_MAX_RECEIVES } from '../../shared/pipeline/sweep-units';
import { eventSourcesOfCall } from '../../shared/resources';
import { rules as registry } from '../../shared/rules';
import {
  actionsOf,
  type CallFilter,
  type PermissionStatement,
  type RequestMatch,
  type Rule,
  Stack,
  type StackValue,
} from '../../shared/rules/rule';
import type { RuleSetting } from '../../shared/rules/settings';

/**
 * The rules' part of the stack, derived from the registry: each rule's function (handler, role,
 * EventBridge patterns, schedule), its role (the boundary, the pipeline policy and the statements
 * the rule declares), its Config custom rule, and the environment every function reads (each rule's
 * mode, the loop guard's role list). serverless.yml includes it through scripts/serverless/rules.cjs;
 * scripts/lib/serverless-template.ts expands the same for local provisioning and the contract tests.
 * Values are serverless.yml's, after its short forms: `${param:...}` and `${self:...}` variables
 * serverless resolves, CloudFormation intrinsics in their JSON form.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** The stack's name as serverless names it: what `${AWS::StackName}` stands for in a rule. */
const STACK_NAME = `\${self:service}-\${sls:stage}`;
const CLOUDTRAIL = 'AWS API Call via CloudTrail';
const CONFIG_ITEM_CHANGE = 'Config Configuration Item Change';
/** Config's pseudo type for region-level settings: no item changes, so a periodic Config rule. */
const ACCOUNT_TYPE_PREFIX = 'AWS::::';
/** The schedule parameter of every rule that does not name its own. */
const SWEEP_SCHEDULE = 'sweepSchedule';
/** EventBridge sources that are not `aws.<first label of the event source>`. */
const EVENTBRIDGE_SOURCES: Readonly<Record<string, string>> = {
  'monitoring.amazonaws.com': 'aws.cloudwatch',
};

const pascal = (id: string): string =>
  id.replace(/(^|-)([a-z0-9])/g, (_whole, _dash, letter: string) => letter.toUpperCase());

/** serverless's logical id prefix of a function: ebs-encryption-by-default → EbsDashencryptionDashbyDashdefault. */
export const functionLogicalId = (id: string): string =>
  id.replace(/-/g, 'Dash').replace(/^./, (first) => first.toUpperCase());

export const roleName = (rule: Pick<Rule, 'id'>): string => `${pascal(rule.id)}Role`;

/** A rule's own sweep queue: its scheduled sweeps' units (shared/pipeline/sweep-units.ts). */
export const sweepQueueId = (rule: Pick<Rule, 'id'>): string => `${pascal(rule.id)}SweepQueue`;
/** Where every rule's sweep queue dead-letters a unit it delivered SWEEP_MAX_RECEIVES times. */
export const SWEEP_DEAD_LETTER_QUEUE = 'SweepDeadLetterQueue';
/** The functions' timeout (serverless.yml provider.timeout): a queue's visibility timeout is 6× it. */
export const FUNCTION_TIMEOUT_SECONDS = 60;

/** The parameter that sets a rule's mode: ssh-open-to-world → sshOpenToWorldMode. */
export const modeParameter = (rule: Pick<Rule, 'id'>): string =>
  `${pascal(rule.id).replace(/^./, (first) => first.toLowerCase())}Mode`;

/** A stack value as CloudFormation reads it: a plain string, a Ref, a GetAtt, or an Fn::Sub. */
export function stackValue(text: StackValue): Json {
  const named = text.replaceAll(Stack.name, STACK_NAME);
  const whole = /^\$\{(\w+)(?:\.(\w+))?\}$/.exec(named);
  if (whole?.[1]) return whole[2] ? { 'Fn::GetAtt': [whole[1], whole[2]] } : { Ref: whole[1] };
  return /\$\{\w+(::\w+|\.\w+)?\}/.test(named) ? { 'Fn::Sub': named } : named;
}

/** One value, or the list when there are several (as a person writes IAM). */
const oneOrList = (values: Json[]): Json => (values.length === 1 ? (values[0] as Json) : values);

/**
 * The service that logs a CloudTrail call, as its resource type declares it; `eventSource` picks one
 * where two services log calls of the same name (RemovePermission: Lambda and EventBridge).
 */
function eventSourceOf(eventName: string, eventSource?: string): string {
  const sources = eventSourcesOfCall(eventName);
  if (sources.length === 0)
    throw new Error(`no resource type in shared/resources maps the CloudTrail call ${eventName}`);
  if (eventSource !== undefined) {
    if (!sources.includes(eventSource)) throw new Error(`${eventName} is not mapped for ${eventSource}`);
    return eventSource;
  }
  const [only] = sources;
  if (sources.length > 1 || !only)
    throw new Error(`${eventName} is logged by ${sources.join(' and ')}: its filter must name the service`);
  return only;
}

const requestMatch = (match: RequestMatch): Json => {
  if (typeof match === 'string') return stackValue(match);
  if (typeof match !== 'object') return match;
  if ('exists' in match) return { exists: match.exists };
  return 'prefix' in match ? { prefix: stackValue(match.prefix) } : { wildcard: stackValue(match.wildcard) };
};

function callPattern(
  eventNames: readonly string[],
  requestParameters?: Readonly<Record<string, readonly RequestMatch[]>>,
  more: Record<string, Json> = {},
  service?: string,
): Json {
  const sources = [...new Set(eventNames.map((eventName) => eventSourceOf(eventName, service)))];
  if (sources.length !== 1 || !sources[0])
    throw new Error(`one pattern, one service: ${eventNames.join(', ')}`);
  const [eventSource] = sources;
  const detail: Record<string, Json> = { eventSource: [eventSource], eventName: [...eventNames], ...more };
  if (requestParameters) {
    detail.requestParameters = Object.fromEntries(
      Object.entries(requestParameters).map(([field, matches]) => [field, matches.map(requestMatch)]),
    );
  }
  return {
    source: [EVENTBRIDGE_SOURCES[eventSource] ?? `aws.${eventSource.split('.')[0]}`],
    'detail-type': [CLOUDTRAIL],
    detail,
  };
}

/** The calls an organisation deployment alone routes to the rule (Rule.organisation), whoever made them. */
const organisationCalls = (rule: Rule): Set<string> =>
  new Set((rule.organisation?.cloudTrail ?? []).flatMap((filter) => filter.eventNames));

/**
 * The loop guard's exception (Rule.ownCalls): those calls, one pattern per service, only when one of
 * the responder's own roles (every rule's role) made them. A call only an organisation deployment
 * routes (PutPermission on the default bus) reaches the rule through that filter, whoever made it.
 */
function ownCallPatterns(rule: Rule, rules: readonly Rule[]): Json[] {
  const bySource = new Map<string, string[]>();
  const organisation = organisationCalls(rule);
  for (const eventName of (rule.ownCalls?.eventNames ?? []).filter((name) => !organisation.has(name))) {
    const source = eventSourceOf(eventName);
    bySource.set(source, [...(bySource.get(source) ?? []), eventName]);
  }
  const roles = rules.map((each) => ({ 'Fn::GetAtt': [roleName(each), 'Arn'] }));
  const madeByResponder = { userIdentity: { sessionContext: { sessionIssuer: { arn: roles } } } };
  return [...bySource.values()].map((names) => callPattern(names, undefined, madeByResponder));
}

const filterPattern = (filter: CallFilter): Json =>
  callPattern(filter.eventNames, filter.requestParameters, {}, filter.eventSource);

/** The filtered calls first, each filter a pattern; then the rest, one pattern per service. */
function cloudTrailPatterns(rule: Rule): Json[] {
  const { eventNames = [], filters = [] } = rule.triggers.cloudTrail ?? {};
  const filtered = new Set(filters.flatMap((filter) => filter.eventNames));
  const undeclared = [...filtered].filter((eventName) => !eventNames.includes(eventName));
  if (undeclared.length > 0) throw new Error(`${rule.id} filters calls it does not declare: ${undeclared}`);
  const bySource = new Map<string, string[]>();
  for (const eventName of eventNames.filter((name) => !filtered.has(name))) {
    const source = eventSourceOf(eventName);
    bySource.set(source, [...(bySource.get(source) ?? []), eventName]);
  }
  return [
    ...filters.map((filter) => filterPattern(filter)),
    ...[...bySource.values()].map((names) => callPattern(names)),
  ];
}

const itemChangeTypes = (rule: Rule): string[] =>
  (rule.triggers.configResourceTypes ?? []).filter((type) => !type.startsWith(ACCOUNT_TYPE_PREFIX));

/** Every EventBridge pattern routed to a rule's function, in a stable order (it names the EventBridge rules). */
export function eventPatterns(rule: Rule, rules: readonly Rule[] = registry): Json[] {
  const types = itemChangeTypes(rule);
  const managed = rule.triggers.managedConfigRules ?? [];
  return [
    ...cloudTrailPatterns(rule),
    ...ownCallPatterns(rule, rules),
    ...(rule.triggers.serviceEvents ?? []).map(({ source, detailTypes, detail }) => ({
      source: [source],
      'detail-type': [...detailTypes],
      ...(detail && {
        detail: Object.fromEntries(Object.entries(detail).map(([key, values]) => [key, [...values]])),
      }),
    })),
    // Config's record of changes (needs a recorder that records these types); oversized items come as summaries.
    ...(types.length === 0
      ? []
      : [
          {
            source: ['aws.config'],
            'detail-type': [CONFIG_ITEM_CHANGE],
            detail: {
              messageType: ['ConfigurationItemChangeNotification'],
              configurationItem: { resourceType: types },
            },
          },
          {
            source: ['aws.config'],
            'detail-type': [CONFIG_ITEM_CHANGE],
            detail: {
              messageType: ['OversizedConfigurationItemChangeNotification'],
              configurationItemSummary: { resourceType: types },
            },
          },
        ]),
    ...(managed.length === 0
      ? []
      : [
          {
            source: ['aws.config'],
            'detail-type': ['Config Rules Compliance Change'],
            detail: {
              messageType: ['ComplianceChangeNotification'],
              configRuleName: managed.map(({ ruleName }) => ({ prefix: ruleName })),
              newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
            },
          },
        ]),
  ];
}

/** Every setting the rules declare, once each (two rules may share one). */
export const ruleSettings = (rules: readonly Rule[] = registry): RuleSetting<unknown>[] => [
  ...new Set(rules.flatMap((rule) => Object.values(rule.settings ?? {}))),
];

/**
 * What every function reads about the rules: each one's mode and settings (parameters, defaulting to
 * the rule's own) and the loop guard's roles.
 */
export function ruleEnvironment(rules: readonly Rule[] = registry): Record<string, Json> {
  return {
    ...Object.fromEntries(
      rules.map((rule) => [modeVariable(rule.id), `\${param:${modeParameter(rule)}, '${rule.defaultMode}'}`]),
    ),
    ...Object.fromEntries(
      ruleSettings(rules).map((setting) => [
        setting.variable,
        `\${param:${setting.parameter}, '${setting.fallback}'}`,
      ]),
    ),
    RESPONDER_ROLE_ARNS: {
      'Fn::Join': [',', rules.map((rule) => ({ 'Fn::GetAtt': [roleName(rule), 'Arn'] }))],
    },
    // Each function appends its own queue's tail (`<rule id>-sweep`): one variable for every function.
    SWEEP_QUEUE_PREFIX: {
      'Fn::Sub': `https://sqs.\${AWS::Region}.\${AWS::URLSuffix}/\${AWS::AccountId}/${STACK_NAME}-`,
    },
  };
}

/** The parameters the generated parts read, with their defaults (README's parameters table lists them). */
export function ruleParameters(rules: readonly Rule[] = registry): Record<string, string> {
  return Object.fromEntries([
    ...rules.map((rule) => [modeParameter(rule), rule.defaultMode]),
    ...ruleSettings(rules).map((setting) => [setting.parameter, setting.fallback]),
  ]);
}

const functionDescription = (rule: Rule): string =>
  `HIPAA ${rule.hipaa.join(', ')} - responds to: ${rule.title}`;

/** A function's log group as serverless names it: /aws/lambda/<stack>-<function>. */
const logGroupName = (name: string): string => `/aws/lambda/${STACK_NAME}-${name}`;

/** How many sweep units of one rule run at once: its queue's mapping and its sweep function's reservation. */
const SWEEP_CONCURRENCY = `\${param:sweepConcurrency}`;

/** The rule's sweep queue feeding its sweep function, a bounded number of units at once. */
const sweepUnitsEvent = (rule: Rule): Json => ({
  sqs: {
    arn: { 'Fn::GetAtt': [sweepQueueId(rule), 'Arn'] },
    // One unit per invocation: each is sized to a fraction of the timeout, several would add up.
    batchSize: 1,
    functionResponseType: 'ReportBatchItemFailures',
    maximumConcurrency: SWEEP_CONCURRENCY,
  },
});

/**
 * Each rule has two functions running the same handler (functions/<id>.ts, one bundle) as the same
 * role. `<id>` hears live events and its schedule, whose sweep plan sends units to the rule's queue;
 * `<id>-sweep` consumes that queue alone. An SQS event source mapping does not count reserved
 * concurrency: sharing one function, a flood of live events (an insider in a member account) would
 * fill its reserved slots, the mapping's receives would be throttled, each counting toward the
 * queue's redrive, and every account's units would dead-letter; sweeps would take slots from live
 * events too. Apart, each has its own reservation, and the sweep function reserves exactly what its
 * mapping may use at once. It has no on-failure destination: a mapping invokes synchronously, which
 * Lambda's asynchronous destinations never see; a failed unit returns to the queue and, after
 * SWEEP_MAX_RECEIVES deliveries, to the sweep dead-letter queue, whose alarm pages.
 */
export function ruleFunctions(rules: readonly Rule[] = registry): Record<string, Json> {
  const environment = ruleEnvironment(rules);
  return Object.fromEntries(
    rules.flatMap((rule) => [
      [
        rule.id,
        {
          handler: `functions/${rule.id}.handler`,
          description: functionDescription(rule),
          role: roleName(rule),
          reservedConcurrency: `\${param:reservedConcurrency}`,
          environment,
          destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
          events: [
            ...eventPatterns(rule, rules).map((pattern) => ({ eventBridge: { pattern } })),
            { schedule: `\${param:${rule.triggers.scheduleParameter ?? SWEEP_SCHEDULE}}` },
          ],
        },
      ],
      [
        sweepFunctionName(rule.id),
        {
          handler: `functions/${rule.id}.handler`,
          description: `${functionDescription(rule)} (sweep units)`,
          role: roleName(rule),
          reservedConcurrency: SWEEP_CONCURRENCY,
          environment,
          // It logs to its rule function's log group (encrypted, retained as that one is): a sweep's
          // plan and its units' lines in one place, and no log group of its own.
          disableLogs: true,
          logs: { logGroup: logGroupName(rule.id) },
          events: [sweepUnitsEvent(rule)],
        },
      ],
    ]),
  );
}

export const policyStatement = (statement: PermissionStatement): Json => ({
  Sid: statement.sid,
  Effect: 'Allow',
  Action: oneOrList([...statement.actions]),
  Resource: oneOrList((statement.resources ?? ['*']).map(stackValue)),
  ...(statement.conditions && { Condition: statement.conditions as Json }),
});

/**
 * The table partitions a rule's function writes: its own delivery markers and drift locks, the
 * incidents and the guard. Incident keys (`INCIDENT#<id>`) do not name the rule, and the guard is
 * one count across rules, so those two are shared (docs/security.md).
 */
export const rulePartitions = (rule: Pick<Rule, 'id'>): string[] => [
  'INCIDENT#*',
  `DELIVERY#${rule.id}#*`,
  `DRIFT#${rule.id}`,
  'GUARD',
];

/** Table writes (a transaction is authorised per item) only in the rule's own partitions. */
const ownItemWrites = (rule: Rule): PermissionStatement => ({
  sid: 'WriteOnlyThisRulesItems',
  actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  resources: [Stack.arn('IncidentTable')],
  conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': rulePartitions(rule) } },
});

/**
 * The rule's sweep units: only its own queue, to consume (the event source mapping polls as this
 * role) and to hand the rest of a listing on. No other role may send to it (sweepQueuePolicy).
 */
const ownSweepQueue = (rule: Rule): PermissionStatement => ({
  sid: 'SweepUnitsOnlyOnThisRulesQueue',
  actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
  resources: [Stack.arn(sweepQueueId(rule))],
});

/** One role per function: the pipeline policy plus exactly its rule's statements, inside the boundary. */
function ruleRole(rule: Rule): Json {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      // Named in an organisation deployment: member roles trust it by name (scripts/lib/member.ts).
      RoleName: { 'Fn::If': ['IsOrganisation', `${STACK_NAME}-${rule.id}`, { Ref: 'AWS::NoValue' }] },
      PermissionsBoundary: { Ref: 'ResponderBoundary' },
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      ManagedPolicyArns: [{ Ref: 'PipelinePolicy' }],
      Policies: [
        {
          PolicyName: `rule-${rule.id}`,
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [ownItemWrites(rule), ownSweepQueue(rule), ...rule.permissions].map(policyStatement),
          },
        },
      ],
    },
  };
}

/**
 * deployment: organisation - the rule role may assume its own member role (scripts/lib/member.ts)
 * in accounts of the organisation, and list the organisation's accounts (it acts only in ACTIVE ones).
 */
function memberAccess(rule: Rule): Json {
  return {
    Type: 'AWS::IAM::RolePolicy',
    Condition: 'IsOrganisation',
    Properties: {
      RoleName: { Ref: roleName(rule) },
      PolicyName: 'act-in-member-accounts',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AssumeOnlyThisRulesMemberRole',
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${STACK_NAME}-member-${rule.id}` },
            Condition: { StringEquals: { 'aws:ResourceOrgID': `\${param:organizationId}` } },
          },
          {
            Sid: 'ListTheOrganisationsAccounts',
            Effect: 'Allow',
            // DescribeOrganization: the management account is no member unless managementAccountMember.
            Action: ['organizations:ListAccounts', 'organizations:DescribeOrganization'],
            Resource: '*',
          },
        ],
      },
    },
  };
}

/**
 * deployment: organisation - what the rule adds there only (Rule.organisation), each resource with
 * Condition IsOrganisation so a single account's stack has none of it: one EventBridge rule per
 * filter invoking the rule's function (named <stack>-<id>-organisation-<n>, so self-protection
 * watches it as the stack's own) and its invoke permission (scripts/serverless/alarms.cjs adds its
 * FailedInvocations alarm, under the same Condition), and the statements the rule's role gains there.
 */
function organisationAdditions(rule: Rule): Record<string, Json> {
  const additions = rule.organisation;
  if (!additions) return {};
  const functionArn = { 'Fn::GetAtt': [`${functionLogicalId(rule.id)}LambdaFunction`, 'Arn'] };
  const routing = additions.cloudTrail.flatMap((filter, index) => {
    const name = `${STACK_NAME}-${rule.id}-organisation-${index + 1}`;
    const eventRule = `${pascal(rule.id)}Organisation${index + 1}EventRule`;
    return [
      [
        eventRule,
        {
          Type: 'AWS::Events::Rule',
          Condition: 'IsOrganisation',
          Properties: {
            Name: name,
            State: 'ENABLED',
            EventPattern: filterPattern(filter),
            Targets: [{ Id: `${name}-target`, Arn: functionArn }],
          },
        },
      ],
      [
        `${eventRule}Permission`,
        {
          Type: 'AWS::Lambda::Permission',
          Condition: 'IsOrganisation',
          Properties: {
            FunctionName: functionArn,
            Action: 'lambda:InvokeFunction',
            Principal: 'events.amazonaws.com',
            SourceArn: { 'Fn::GetAtt': [eventRule, 'Arn'] },
          },
        },
      ],
    ] as [string, Json][];
  });
  return Object.fromEntries([
    ...routing,
    [
      `${pascal(rule.id)}OrganisationAccess`,
      {
        Type: 'AWS::IAM::RolePolicy',
        Condition: 'IsOrganisation',
        Properties: {
          RoleName: { Ref: roleName(rule) },
          PolicyName: `organisation-${rule.id}`,
          PolicyDocument: { Version: '2012-10-17', Statement: additions.permissions.map(policyStatement) },
        },
      },
    ],
  ]);
}

/** The Config custom rule `<stack>-<id>` (with configRules: true), and Config's permission to invoke it. */
function configRule(rule: Rule): Record<string, Json> {
  const types = itemChangeTypes(rule);
  const periodic = (rule.triggers.configResourceTypes ?? []).some((type) =>
    type.startsWith(ACCOUNT_TYPE_PREFIX),
  );
  const functionArn = { 'Fn::GetAtt': [`${functionLogicalId(rule.id)}LambdaFunction`, 'Arn'] };
  const permission = `${pascal(rule.id)}ConfigPermission`;
  return {
    [permission]: {
      Type: 'AWS::Lambda::Permission',
      Condition: 'ConfigRulesEnabled',
      Properties: {
        FunctionName: functionArn,
        Action: 'lambda:InvokeFunction',
        Principal: 'config.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
      },
    },
    [`${pascal(rule.id)}ConfigRule`]: {
      Type: 'AWS::Config::ConfigRule',
      Condition: 'ConfigRulesEnabled',
      DependsOn: permission,
      Properties: {
        ConfigRuleName: `${STACK_NAME}-${rule.id}`,
        Description: `Non-compliant when: ${rule.title} (HIPAA ${rule.hipaa.join(', ')})`,
        ...(types.length > 0 && { Scope: { ComplianceResourceTypes: types } }),
        Source: {
          Owner: 'CUSTOM_LAMBDA',
          SourceIdentifier: functionArn,
          SourceDetails: [
            ...(types.length > 0
              ? ['ConfigurationItemChangeNotification', 'OversizedConfigurationItemChangeNotification'].map(
                  (MessageType) => ({ EventSource: 'aws.config', MessageType }),
                )
              : []),
            ...(periodic
              ? [
                  {
                    EventSource: 'aws.config',
                    MessageType: 'ScheduledNotification',
                    MaximumExecutionFrequency: 'One_Hour',
                  },
                ]
              : []),
          ],
        },
      },
    },
  };
}

/**
 * The rule's sweep queue, encrypted with the stack's key: a unit waits 6× the timeout before it is
 * delivered again, and after SWEEP_MAX_RECEIVES deliveries it goes to the shared dead-letter queue.
 * Its policy denies everyone but the rule's own role sending, receiving or deleting units (the
 * role's own policy names only this queue, too).
 */
function sweepQueue(rule: Rule): Record<string, Json> {
  const queue = sweepQueueId(rule);
  const actions = [
    'sqs:SendMessage',
    'sqs:ReceiveMessage',
    'sqs:DeleteMessage',
    'sqs:ChangeMessageVisibility',
  ];
  return {
    [queue]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${STACK_NAME}-${sweepQueueTail(rule.id)}`,
        KmsMasterKeyId: { Ref: 'ResponderKey' },
        VisibilityTimeout: 6 * FUNCTION_TIMEOUT_SECONDS,
        // A unit older than a day belongs to a sweep the next ones have long replaced.
        MessageRetentionPeriod: 86_400,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [SWEEP_DEAD_LETTER_QUEUE, 'Arn'] },
          maxReceiveCount: SWEEP_MAX_RECEIVES,
        },
      },
    },
    [`${queue}Policy`]: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'OnlyThisRulesRole',
              Effect: 'Deny',
              Principal: '*',
              Action: actions,
              Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
              Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [roleName(rule), 'Arn'] } } },
            },
          ],
        },
      },
    },
  };
}

/**
 * The sweep queues' one dead-letter queue (units name their rule) and its alarm to on-call. No
 * RedriveAllowPolicy: byQueue takes at most ten source queues, and naming them would be circular.
 */
function sweepDeadLetters(): Record<string, Json> {
  return {
    [SWEEP_DEAD_LETTER_QUEUE]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${STACK_NAME}-sweep-dead-letters`,
        KmsMasterKeyId: { Ref: 'ResponderKey' },
        MessageRetentionPeriod: 1_209_600,
      },
    },
    SweepDeadLettersAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription:
          'Sweep units failed every delivery and wait in the sweep dead-letter queue: part of a sweep did not run (docs/operations.md)',
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [SWEEP_DEAD_LETTER_QUEUE, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlertTopic' }],
        OKActions: [{ Ref: 'AlertTopic' }],
      },
    },
  };
}

/** Roles, Config rules, and each rule function's log group (its sweep function's too) encrypted with the stack's key. */
export function ruleResources(rules: readonly Rule[] = registry): Record<string, Json> {
  return {
    Resources: Object.fromEntries([
      ...rules.flatMap((rule) => [
        [roleName(rule), ruleRole(rule)],
        ...(rule.homeStackOnly === undefined ? [[`${pascal(rule.id)}MemberAccess`, memberAccess(rule)]] : []),
        ...Object.entries(sweepQueue(rule)),
        ...Object.entries(rule.triggers.customConfigRule ? configRule(rule) : {}),
        ...Object.entries(organisationAdditions(rule)),
      ]),
      ...Object.entries(sweepDeadLetters()),
    ]),
    extensions: Object.fromEntries(
      rules.flatMap((rule) => [
        [
          `${functionLogicalId(rule.id)}LogGroup`,
          { Properties: { KmsKeyId: { 'Fn::GetAtt': ['ResponderKey', 'Arn'] } } },
        ],
        // The sweep function writes to the rule's log group: created before it, as serverless
        // orders a function after its own.
        [
          `${functionLogicalId(sweepFunctionName(rule.id))}LambdaFunction`,
          { DependsOn: [`${functionLogicalId(rule.id)}LogGroup`] },
        ],
      ]),
    ),
  };
}

/**
 * Actions the permissions boundary (serverless.yml, ResponderBoundary) allows only under conditions
 * of its own (tag keys, a quarantine tag, grants for AWS resources, the target account): its generated list of the
 * rules' actions leaves them out. test/contract/iam.test.ts checks this against the boundary.
 */
export const BOUNDED_WITH_CONDITIONS: readonly string[] = [
  'ec2:CreateTags',
  'ec2:DeleteVolume',
  'kms:CreateGrant',
  // Not a rule's: the security-hub-findings function imports only this account's findings.
  'securityhub:BatchImportFindings',
];

/** Every action the rules declare, for the boundary's ceiling: a new rule's actions are in it at once. */
export const boundaryActions = (rules: readonly Rule[] = registry): string[] =>
  [...new Set(rules.flatMap(actionsOf))].filter((action) => !BOUNDED_WITH_CONDITIONS.includes(action)).sort();

/**
 * Undo calls the on-call role holds only under conditions of its own (serverless.yml, OnCallRole):
 * removing a tag, and only the responder's own tag keys.
 */
export const UNDONE_WITH_CONDITIONS: readonly string[] = ['ec2:DeleteTags'];

/** An action that only reads (IAM's Describe, Get and List families). */
const READS = /^[a-z0-9-]+:(Describe|Get|List)[A-Z]/;

/**
 * What the on-call role may call outside the table (which it reaches through statements of its
 * own): every undo call a rule records (`incidents undo` replays only those) and every read a rule
 * makes (what undo checks against AWS first).
 */
export const onCallActions = (rules: readonly Rule[] = registry): string[] =>
  [
    ...new Set(
      rules.flatMap((rule) => [...(rule.undoActions ?? []), ...actionsOf(rule).filter((a) => READS.test(a))]),
    ),
  ]
    .filter((action) => !action.startsWith('dynamodb:') && !UNDONE_WITH_CONDITIONS.includes(action))
    .sort();

/** Everything serverless.yml includes from scripts/serverless/rules.cjs. */
export function deployment(rules: readonly Rule[] = registry) {
  return {
    functions: ruleFunctions(rules),
    // The functions whose pipeline metrics custom.alarms.ruleMetrics watches (scripts/serverless/alarms.cjs).
    ruleIds: rules.map((rule) => rule.id),
    resources: ruleResources(rules),
    environment: ruleEnvironment(rules),
    boundaryActions: boundaryActions(rules),
    onCallActions: onCallActions(rules),
  };
}
