import {
  type AdvancedEventSelector,
  type EventSelector,
  GetEventSelectorsCommand,
} from '@aws-sdk/client-cloudtrail';
import { DescribeAlarmsCommand, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch';
import { paginateDescribeLogGroups } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeConfigRulesCommand,
  DescribeConfigurationRecordersCommand,
} from '@aws-sdk/client-config-service';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeRuleCommand,
  type EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
} from '@aws-sdk/client-eventbridge';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyRotationStatusCommand } from '@aws-sdk/client-kms';
import { GetFunctionConcurrencyCommand, paginateListFunctions } from '@aws-sdk/client-lambda';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  paginateListSubscriptionsByTopic,
} from '@aws-sdk/client-sns';
import { isAwsError } from '../aws/aws-errors';
import type { AwsClients } from '../aws/clients';
import type { Settings } from '../config';
import { errorMessage } from '../errors';
import {
  DEFAULT_BUS,
  type OrganisationStatement,
  readOrganisationStatement,
} from '../organisation/bus-policy';
import { StackResourceType } from '../resources/stack-resource';
import { type ConfigurationChanges, readConfigurationChanges } from './function-configuration';
import type { Loaded, ResourceRef } from './rule';

/**
 * The responder's own stack as self-protection reads it: which of its resources a name or ARN
 * belongs to, and each one's protective state. Read-only. "Gone" is a state (exists: false), never
 * undefined: a deleted rule, function or topic must page. undefined means "not the responder's".
 */

export { StackResourceType };

/**
 * `changedBy` names a call whose effect no read can judge against the deployment (a role's policies,
 * the key policy, a function's permissions, a log group's retention): the call itself is the drift.
 */
export type StackResourceState =
  | { type: typeof StackResourceType.EventRule; exists: true; enabled: boolean; targetCount: number }
  | {
      type: typeof StackResourceType.Function;
      exists: true;
      reservedConcurrency: number | null;
      /** How $LATEST differs from the last deployment's published version; undefined: no version to compare with. */
      changes: ConfigurationChanges | undefined;
      changedBy?: string;
    }
  | { type: typeof StackResourceType.ConfigRule; exists: true; ruleState: string }
  | { type: typeof StackResourceType.Topic; exists: true; confirmedSubscriptions: number }
  | { type: typeof StackResourceType.Subscription; exists: true; filterPolicy: boolean }
  | { type: typeof StackResourceType.Table; exists: true; deletionProtection: boolean }
  | {
      type: typeof StackResourceType.Key;
      exists: true;
      keyId: string;
      keyState: string;
      /** null: not readable in this key state (KMS refuses GetKeyRotationStatus on a disabled key). */
      rotation: boolean | null;
      changedBy?: string;
    }
  | { type: typeof StackResourceType.Role; exists: true; changedBy?: string }
  | { type: typeof StackResourceType.Alarm; exists: true; actionsEnabled: boolean }
  | {
      type: typeof StackResourceType.LogGroup;
      exists: true;
      retentionInDays: number | null;
      changedBy?: string;
    }
  | { type: typeof StackResourceType.Trail; exists: true; logsEveryManagementWrite: boolean }
  | { type: typeof StackResourceType.Recorder; exists: true; recordsAll: boolean }
  /** deployment: organisation - the default bus's statement admitting the organisation, as read. */
  | { type: typeof StackResourceType.BusPolicy; exists: true; statement: OrganisationStatement }
  /** Gone, or (refused) the account would not let the responder read it: either way it cannot check it. */
  | { type: StackResourceType; exists: false; refused?: string; changedBy?: string };

type Scope = { accountId: string; region: string };

/** What the stack's generated names start with: serverless and CloudFormation prefix them with the stack name. */
export const stackPrefix = (settings: Settings): string => `${settings.stackName}-`;

/** The stack key is known by its alias (serverless.yml: alias/<service>-<stage>, the default stack name). */
export const stackKeyAlias = (settings: Settings): string => `alias/${settings.stackName}`;

const isStackTypeName = (value: string): value is StackResourceType =>
  (Object.values(StackResourceType) as string[]).includes(value);

function loaded(
  resourceId: string,
  arn: string,
  scope: Scope,
  state: StackResourceState,
): Loaded<StackResourceState> {
  // The responder's own resources cannot be exempted by tag: TagResource would be a way around
  // self-protection. Their tags are not read.
  return {
    resourceType: state.type,
    resourceId,
    arn,
    region: scope.region,
    accountId: scope.accountId,
    tags: {},
    state,
  };
}

const ruleArn = (name: string, scope: Scope) =>
  `arn:aws:events:${scope.region}:${scope.accountId}:rule/${name}`;
const functionArn = (name: string, scope: Scope) =>
  `arn:aws:lambda:${scope.region}:${scope.accountId}:function:${name}`;
const tableArn = (name: string, scope: Scope) =>
  `arn:aws:dynamodb:${scope.region}:${scope.accountId}:table/${name}`;

/** A Lambda function is named by name, full ARN or partial ARN (account:function:name), maybe with a qualifier. */
const functionNameOf = (id: string): string => /(?:^|:)function:([^:]+)/.exec(id)?.[1] ?? id;
const tableNameOf = (id: string): string => /:table\/([^/]+)$/.exec(id)?.[1] ?? id;

async function countTargets(events: EventBridgeClient, rule: string): Promise<number> {
  // EventBridge ships no paginator for ListTargetsByRule: follow NextToken until the last page.
  let count = 0;
  let NextToken: string | undefined;
  do {
    const page = await events.send(new ListTargetsByRuleCommand({ Rule: rule, NextToken }));
    count += page.Targets?.length ?? 0;
    NextToken = page.NextToken;
  } while (NextToken);
  return count;
}

async function readEventRule(name: string, scope: Scope, aws: AwsClients) {
  const events = aws.events(scope.region);
  try {
    const rule = await events.send(new DescribeRuleCommand({ Name: name }));
    const targetCount = await countTargets(events, name);
    return loaded(name, rule.Arn ?? ruleArn(name, scope), scope, {
      type: StackResourceType.EventRule,
      exists: true,
      enabled: rule.State !== 'DISABLED',
      targetCount,
    });
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
    return loaded(name, ruleArn(name, scope), scope, { type: StackResourceType.EventRule, exists: false });
  }
}

async function readFunction(name: string, scope: Scope, aws: AwsClients) {
  const lambda = aws.lambda(scope.region);
  try {
    const changes = await readConfigurationChanges(lambda, name);
    const concurrency = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }));
    return loaded(name, functionArn(name, scope), scope, {
      type: StackResourceType.Function,
      exists: true,
      reservedConcurrency: concurrency.ReservedConcurrentExecutions ?? null,
      changes,
    });
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
    return loaded(name, functionArn(name, scope), scope, { type: StackResourceType.Function, exists: false });
  }
}

async function readConfigRule(name: string, scope: Scope, aws: AwsClients) {
  // Config's own rule ARNs carry the rule id, which is gone with the rule: name it by name instead.
  const arn = `arn:aws:config:${scope.region}:${scope.accountId}:config-rule/${name}`;
  try {
    const { ConfigRules = [] } = await aws
      .config(scope.region)
      .send(new DescribeConfigRulesCommand({ ConfigRuleNames: [name] }));
    const rule = ConfigRules.find((candidate) => candidate.ConfigRuleName === name);
    // moto 5.2.1 answers an unknown name with an empty list instead of NoSuchConfigRuleException.
    if (!rule) return loaded(name, arn, scope, { type: StackResourceType.ConfigRule, exists: false });
    return loaded(name, arn, scope, {
      type: StackResourceType.ConfigRule,
      exists: true,
      ruleState: rule.ConfigRuleState ?? 'ACTIVE',
    });
  } catch (error) {
    if (!isAwsError(error, 'NoSuchConfigRuleException')) throw error;
    return loaded(name, arn, scope, { type: StackResourceType.ConfigRule, exists: false });
  }
}

async function readTopic(topicArn: string, scope: Scope, aws: AwsClients) {
  const sns = aws.sns();
  try {
    await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
    let confirmedSubscriptions = 0;
    for await (const page of paginateListSubscriptionsByTopic({ client: sns }, { TopicArn: topicArn })) {
      // An unconfirmed subscription is listed as "PendingConfirmation", not an ARN: it receives nothing.
      confirmedSubscriptions += (page.Subscriptions ?? []).filter((sub) =>
        sub.SubscriptionArn?.startsWith('arn:'),
      ).length;
    }
    return loaded(topicArn, topicArn, scope, {
      type: StackResourceType.Topic,
      exists: true,
      confirmedSubscriptions,
    });
  } catch (error) {
    if (!isAwsError(error, 'NotFoundException')) throw error;
    return loaded(topicArn, topicArn, scope, { type: StackResourceType.Topic, exists: false });
  }
}

async function readSubscription(subscriptionArn: string, scope: Scope, aws: AwsClients) {
  try {
    const { Attributes = {} } = await aws
      .sns()
      .send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscriptionArn }));
    // Only whether a filter exists is kept, never the policy itself.
    return loaded(subscriptionArn, subscriptionArn, scope, {
      type: StackResourceType.Subscription,
      exists: true,
      filterPolicy: (Attributes.FilterPolicy ?? '').trim() !== '',
    });
  } catch (error) {
    if (!isAwsError(error, 'NotFoundException')) throw error;
    return loaded(subscriptionArn, subscriptionArn, scope, {
      type: StackResourceType.Subscription,
      exists: false,
    });
  }
}

async function readTable(name: string, scope: Scope, aws: AwsClients) {
  try {
    const { Table: table } = await aws
      .dynamodbControl(scope.region)
      .send(new DescribeTableCommand({ TableName: name }));
    return loaded(name, table?.TableArn ?? tableArn(name, scope), scope, {
      type: StackResourceType.Table,
      exists: true,
      deletionProtection: table?.DeletionProtectionEnabled === true,
    });
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
    return loaded(name, tableArn(name, scope), scope, { type: StackResourceType.Table, exists: false });
  }
}

/** The stack key, found through its alias. A missing alias reads as a gone key: it cannot be checked. */
async function readKey(settings: Settings, scope: Scope, aws: AwsClients) {
  const alias = stackKeyAlias(settings);
  try {
    const { KeyMetadata: key } = await aws.kms(scope.region).send(new DescribeKeyCommand({ KeyId: alias }));
    if (!key?.KeyId) throw new Error(`KMS described ${alias} without a key id`);
    const rotation =
      key.KeyState === 'Enabled'
        ? (await aws.kms(scope.region).send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId })))
            .KeyRotationEnabled === true
        : null;
    return loaded(
      key.KeyId,
      key.Arn ?? `arn:aws:kms:${scope.region}:${scope.accountId}:key/${key.KeyId}`,
      scope,
      {
        type: StackResourceType.Key,
        exists: true,
        keyId: key.KeyId,
        keyState: key.KeyState ?? 'Unknown',
        rotation,
      },
    );
  } catch (error) {
    if (!isAwsError(error, 'NotFoundException')) throw error;
    const aliasArn = `arn:aws:kms:${scope.region}:${scope.accountId}:${alias}`;
    return loaded(alias, aliasArn, scope, { type: StackResourceType.Key, exists: false });
  }
}

/** IAM names a role by name; CloudFormation names the stack's roles <stack>-<LogicalId>-<suffix>. */
async function readRole(name: string, scope: Scope, aws: AwsClients) {
  const arn = `arn:aws:iam::${scope.accountId}:role/${name}`;
  try {
    const { Role: role } = await aws.iam().send(new GetRoleCommand({ RoleName: name }));
    return loaded(name, role?.Arn ?? arn, scope, { type: StackResourceType.Role, exists: true });
  } catch (error) {
    if (!isAwsError(error, 'NoSuchEntityException', 'NoSuchEntity')) throw error;
    return loaded(name, arn, scope, { type: StackResourceType.Role, exists: false });
  }
}

const alarmArn = (name: string, scope: Scope) =>
  `arn:aws:cloudwatch:${scope.region}:${scope.accountId}:alarm:${name}`;

async function readAlarm(name: string, scope: Scope, aws: AwsClients) {
  const { MetricAlarms = [], CompositeAlarms = [] } = await aws
    .cloudwatch(scope.region)
    .send(new DescribeAlarmsCommand({ AlarmNames: [name], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }));
  const alarm = [...MetricAlarms, ...CompositeAlarms].find((candidate) => candidate.AlarmName === name);
  if (!alarm)
    return loaded(name, alarmArn(name, scope), scope, { type: StackResourceType.Alarm, exists: false });
  return loaded(name, alarm.AlarmArn ?? alarmArn(name, scope), scope, {
    type: StackResourceType.Alarm,
    exists: true,
    actionsEnabled: alarm.ActionsEnabled !== false,
  });
}

async function readLogGroup(name: string, scope: Scope, aws: AwsClients) {
  const arn = `arn:aws:logs:${scope.region}:${scope.accountId}:log-group:${name}`;
  for await (const page of paginateDescribeLogGroups(
    { client: aws.logs(scope.region) },
    { logGroupNamePrefix: name },
  )) {
    const group = page.logGroups?.find((candidate) => candidate.logGroupName === name);
    if (group) {
      return loaded(name, arn, scope, {
        type: StackResourceType.LogGroup,
        exists: true,
        retentionInDays: group.retentionInDays ?? null,
      });
    }
  }
  return loaded(name, arn, scope, { type: StackResourceType.LogGroup, exists: false });
}

/** Basic selectors: management events included, writes logged, no event source (KMS) left out. */
const logsManagementWrites = (selector: EventSelector): boolean =>
  selector.IncludeManagementEvents !== false &&
  selector.ReadWriteType !== 'ReadOnly' &&
  (selector.ExcludeManagementEventSources ?? []).length === 0;

/** Advanced selectors: eventCategory = Management, narrowed by nothing but readOnly = false. */
const logsEveryManagementWrite = (selector: AdvancedEventSelector): boolean => {
  const fields = selector.FieldSelectors ?? [];
  const management = fields.some(
    (field) => field.Field === 'eventCategory' && field.Equals?.join() === 'Management',
  );
  const narrowed = fields.some(
    (field) =>
      field.Field !== 'eventCategory' && !(field.Field === 'readOnly' && field.Equals?.join() === 'false'),
  );
  return management && !narrowed;
};

async function readTrailSelectors(trail: string, scope: Scope, aws: AwsClients) {
  const arn = trail.startsWith('arn:')
    ? trail
    : `arn:aws:cloudtrail:${scope.region}:${scope.accountId}:trail/${trail}`;
  try {
    const { EventSelectors = [], AdvancedEventSelectors = [] } = await aws
      .cloudtrail(scope.region)
      .send(new GetEventSelectorsCommand({ TrailName: trail }));
    const logged =
      AdvancedEventSelectors.length > 0
        ? AdvancedEventSelectors.some(logsEveryManagementWrite)
        : // No selector at all is CloudTrail's default: every management event.
          EventSelectors.length === 0 || EventSelectors.some(logsManagementWrites);
    return loaded(trail, arn, scope, {
      type: StackResourceType.Trail,
      exists: true,
      logsEveryManagementWrite: logged,
    });
  } catch (error) {
    if (!isAwsError(error, 'TrailNotFoundException')) throw error;
    return loaded(trail, arn, scope, { type: StackResourceType.Trail, exists: false });
  }
}

async function readRecorder(name: string, scope: Scope, aws: AwsClients) {
  const arn = `arn:aws:config:${scope.region}:${scope.accountId}:configuration-recorder/${name}`;
  try {
    const { ConfigurationRecorders = [] } = await aws
      .config(scope.region)
      .send(new DescribeConfigurationRecordersCommand({ ConfigurationRecorderNames: [name] }));
    const recorder = ConfigurationRecorders.find((candidate) => candidate.name === name);
    if (!recorder) return loaded(name, arn, scope, { type: StackResourceType.Recorder, exists: false });
    const group = recorder.recordingGroup;
    const strategy = group?.recordingStrategy?.useOnly ?? 'ALL_SUPPORTED_RESOURCE_TYPES';
    return loaded(name, arn, scope, {
      type: StackResourceType.Recorder,
      exists: true,
      recordsAll: group?.allSupported === true && strategy === 'ALL_SUPPORTED_RESOURCE_TYPES',
    });
  } catch (error) {
    if (!isAwsError(error, 'NoSuchConfigurationRecorderException')) throw error;
    return loaded(name, arn, scope, { type: StackResourceType.Recorder, exists: false });
  }
}

/** The bus the organisation statement is on, as the CloudTrail mapping names it. */
const BUS = DEFAULT_BUS;

/**
 * deployment: organisation - the home region's default bus and its statement admitting the
 * organisation (never another bus, region or a single account's stack: nothing of it there).
 */
async function readBusPolicy(settings: Settings, scope: Scope, aws: AwsClients) {
  const { organizationId, stackName } = settings;
  if (!organizationId) return undefined;
  const statement = await readOrganisationStatement(aws.events(scope.region), {
    stackName,
    organizationId,
    ...scope,
  });
  return loaded(BUS, statement.busArn, scope, { type: StackResourceType.BusPolicy, exists: true, statement });
}

/** What AWS answers when the account (an SCP, a boundary) will not let the responder read. */
const REFUSALS = ['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'AuthorizationError'];

/** The log group Lambda writes a function's logs to. */
const logGroupPrefix = (settings: Settings): string => `/aws/lambda/${stackPrefix(settings)}`;

/**
 * One resource of the stack by the id an event named, or undefined when the id is not the
 * responder's (the EventBridge patterns filter the same way; this is the second check). The
 * table, topic, subscriptions and key live in the home region; roles in IAM. `changedBy` is the
 * call to judge for resources no read can compare with the deployment. A read the account refuses
 * is still an answer (refused), so the call that prompted it opens an incident.
 */
export async function readStackResource(
  ref: ResourceRef,
  aws: AwsClients,
  settings: Settings,
  changedBy?: string,
): Promise<Loaded<StackResourceState> | undefined> {
  try {
    const resource = await readOwn(ref, aws, settings);
    if (!resource?.state.exists || !changedBy) return resource;
    const { state } = resource;
    switch (state.type) {
      case StackResourceType.Function:
      case StackResourceType.Key:
      case StackResourceType.Role:
      case StackResourceType.LogGroup:
        return { ...resource, state: { ...state, changedBy } };
      default:
        return resource;
    }
  } catch (error) {
    if (!isAwsError(error, ...REFUSALS) || !isStackTypeName(ref.resourceType)) throw error;
    return loaded(ref.resourceId, ref.resourceId, ref, {
      type: ref.resourceType,
      exists: false,
      refused: errorMessage(error).slice(0, 256),
      ...(ref.eventName && { changedBy: ref.eventName }),
    });
  }
}

async function readOwn(
  ref: ResourceRef,
  aws: AwsClients,
  settings: Settings,
): Promise<Loaded<StackResourceState> | undefined> {
  if (!isStackTypeName(ref.resourceType)) return undefined;
  const prefix = stackPrefix(settings);
  const here = { accountId: ref.accountId, region: ref.region };
  const home = { accountId: ref.accountId, region: settings.homeRegion };
  switch (ref.resourceType) {
    case StackResourceType.EventRule:
      return ref.resourceId.startsWith(prefix) ? readEventRule(ref.resourceId, here, aws) : undefined;
    case StackResourceType.Function: {
      const name = functionNameOf(ref.resourceId);
      return name.startsWith(prefix) ? readFunction(name, here, aws) : undefined;
    }
    case StackResourceType.ConfigRule:
      return ref.resourceId.startsWith(prefix) ? readConfigRule(ref.resourceId, here, aws) : undefined;
    case StackResourceType.Topic:
      return ref.resourceId === settings.alertTopicArn ? readTopic(ref.resourceId, home, aws) : undefined;
    case StackResourceType.Subscription:
      return ref.resourceId.startsWith(`${settings.alertTopicArn}:`)
        ? readSubscription(ref.resourceId, home, aws)
        : undefined;
    case StackResourceType.Table:
      return tableNameOf(ref.resourceId) === settings.incidentTable
        ? readTable(settings.incidentTable, home, aws)
        : undefined;
    case StackResourceType.Key: {
      const key = await readKey(settings, home, aws);
      if (!key.state.exists) return key;
      const ours = ref.resourceId === key.resourceId || ref.resourceId === key.arn;
      return ours ? key : undefined;
    }
    case StackResourceType.Role:
      return ref.resourceId.startsWith(prefix) ? readRole(ref.resourceId, here, aws) : undefined;
    case StackResourceType.Alarm:
      return ref.resourceId.startsWith(prefix) ? readAlarm(ref.resourceId, here, aws) : undefined;
    case StackResourceType.LogGroup:
      return ref.resourceId.startsWith(logGroupPrefix(settings))
        ? readLogGroup(ref.resourceId, here, aws)
        : undefined;
    case StackResourceType.Trail:
      return readTrailSelectors(ref.resourceId, here, aws);
    case StackResourceType.Recorder:
      return readRecorder(ref.resourceId, here, aws);
    case StackResourceType.BusPolicy:
      return ref.resourceId === BUS && ref.region === settings.homeRegion
        ? readBusPolicy(settings, home, aws)
        : undefined;
  }
}

/**
 * What the sweep can check without knowing the template: the stack's EventBridge rules, functions
 * and alarms by name prefix (a deleted one is only seen by its event), and, in the home region, the
 * table, the alert topic and the key, which are known by name, and (organisation) the bus statement.
 */
export async function* listStackResources(
  scope: Scope,
  aws: AwsClients,
  settings: Settings,
): AsyncIterable<Loaded<StackResourceState>> {
  const prefix = stackPrefix(settings);
  const events = aws.events(scope.region);
  // EventBridge ships no paginator for ListRules: follow NextToken until the last page.
  let NextToken: string | undefined;
  do {
    const page = await events.send(new ListRulesCommand({ NamePrefix: prefix, NextToken }));
    for (const rule of page.Rules ?? []) {
      if (!rule.Name?.startsWith(prefix)) continue;
      yield loaded(rule.Name, rule.Arn ?? ruleArn(rule.Name, scope), scope, {
        type: StackResourceType.EventRule,
        exists: true,
        enabled: rule.State !== 'DISABLED',
        targetCount: await countTargets(events, rule.Name),
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  for await (const page of paginateListFunctions({ client: aws.lambda(scope.region) }, {})) {
    for (const fn of page.Functions ?? []) {
      if (fn.FunctionName?.startsWith(prefix)) yield await readFunction(fn.FunctionName, scope, aws);
    }
  }
  // Every stack has alarms (the forwarders' watch their rules): actions switched off page no one.
  for await (const page of paginateDescribeAlarms(
    { client: aws.cloudwatch(scope.region) },
    { AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
  )) {
    for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      if (!alarm.AlarmName?.startsWith(prefix)) continue;
      yield loaded(alarm.AlarmName, alarm.AlarmArn ?? alarmArn(alarm.AlarmName, scope), scope, {
        type: StackResourceType.Alarm,
        exists: true,
        actionsEnabled: alarm.ActionsEnabled !== false,
      });
    }
  }
  if (scope.region !== settings.homeRegion) return;
  yield await readTable(settings.incidentTable, scope, aws);
  yield await readTopic(settings.alertTopicArn, scope, aws);
  yield await readKey(settings, scope, aws);
  const busPolicy = await readBusPolicy(settings, scope, aws);
  if (busPolicy) yield busPolicy;
}
