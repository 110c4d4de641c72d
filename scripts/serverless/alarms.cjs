/**
 * Adds the alarms that follow from the template itself, so a new function or trigger can never go
 * unwatched: for every function its Errors and Throttles (one alarm for both when the function only
 * consumes queues), for every EventBridge rule its FailedInvocations, and for every rule function
 * the pipeline metrics in custom.alarms.ruleMetrics (GuardTripped, RemediationStuck). All go to the
 * alert topic. The hand-written alarms (dead letters, heartbeat) are in serverless.yml.
 * test/contract/alarms.test.ts checks the result.
 *
 * FailedInvocations: the rules that invoke one function of this template share metric-math
 * alarms, at most MAX_ALARM_METRICS rules each (CloudWatch's hard limit of metrics an alarm reads),
 * grouped by the function and the rule's Condition so an alarm exists exactly when its rules do.
 * A rule with any other target (a forwarder's bus) keeps an alarm of its own. One alarm per rule
 * would cost a CloudFormation resource per rule: the home stack holds 68 rules of a 500 budget.
 *
 * It runs before serverless merges serverless.yml's `resources` (the hand-written ones and those
 * scripts/lib/deployment.ts generates), so it reads those too: their EventBridge rules are watched
 * by the same builder, under the rule's Condition.
 */

/** CloudWatch refuses an alarm whose math reads more than 10 metrics. */
const MAX_ALARM_METRICS = 10;
const PERIOD = 300;

/** A function of this template an EventBridge target names: { 'Fn::GetAtt': [<Base>LambdaFunction, 'Arn'] }. */
const targetFunction = (target) => {
  const getAtt = target?.Arn?.['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt[1] === 'Arn' && /LambdaFunction$/.test(getAtt[0])
    ? getAtt[0]
    : undefined;
};

/** `items` in `count` lists of nearly equal size, in order. */
const chunks = (items, size) => {
  const count = Math.ceil(items.length / size);
  const each = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, index) => items.slice(index * each, (index + 1) * each));
};

/** A metric-math query reading one metric, summed over the period, not itself the alarm's value. */
const metricQuery = (Id, Namespace, MetricName, Dimensions) => ({
  Id,
  MetricStat: { Metric: { Namespace, MetricName, Dimensions }, Period: PERIOD, Stat: 'Sum' },
  ReturnData: false,
});

/**
 * The sum of the queries, a missing series counting 0: AWS publishes FailedInvocations, Errors and
 * Throttles only when they happened, and one silent series must not hide another's failures.
 */
const sumOf = (Id, Label, queries) => ({
  Id,
  Label,
  Expression:
    queries.length === 1
      ? `FILL(${queries[0].Id}, 0)`
      : `SUM([${queries.map((query) => `FILL(${query.Id}, 0)`).join(', ')}])`,
  ReturnData: true,
});

class ResponderAlarms {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.addAlarms() };
  }

  addAlarms() {
    const service = this.serverless.service;
    const settings = service.custom?.alarms ?? {};
    if (settings.enabled === false || settings.enabled === 'false') return;
    const template = service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources;
    const topic = { Ref: settings.topic ?? 'AlertTopic' };
    const common = {
      ActionsEnabled: true,
      AlarmActions: [topic],
      OKActions: [topic],
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    };
    const alarm = (description, metric, extra = {}) => ({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { AlarmDescription: description, ...common, Statistic: 'Sum', Period: PERIOD, ...metric },
      ...extra,
    });
    const mathAlarm = (description, Metrics, extra = {}) => ({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: { AlarmDescription: description, ...common, Metrics },
      ...extra,
    });
    const added = {};
    const declared = { ...this.declaredResources(service.resources), ...resources };
    /** `${function}\n${condition}` → the EventBridge rules invoking that function under that condition. */
    const invokers = new Map();
    for (const [logicalId, resource] of Object.entries(declared)) {
      // A resource that exists only under a condition (an optional feature): so do its alarms.
      const condition = resource.Condition ? { Condition: resource.Condition } : {};
      if (resource.Type === 'AWS::Lambda::Function' && logicalId.endsWith('LambdaFunction')) {
        const base = logicalId.slice(0, -'LambdaFunction'.length);
        const dimensions = [{ Name: 'FunctionName', Value: { Ref: logicalId } }];
        const fn = Object.entries(service.functions).find(([name]) => this.logicalBase(name) === base);
        const events = fn?.[1].events ?? [];
        if (events.length > 0 && events.every((event) => event.sqs !== undefined)) {
          // A queue consumer: an error and a throttle both put the unit back on its queue, toward
          // its redrive, so one alarm reads both.
          added[`${base}ErrorsOrThrottlesAlarm`] = mathAlarm(
            `${base}: invocations failed or were throttled (reserved concurrency reached): units return to the queue, then dead-letter`,
            [
              metricQuery('errors', 'AWS/Lambda', 'Errors', dimensions),
              metricQuery('throttles', 'AWS/Lambda', 'Throttles', dimensions),
              sumOf('failures', 'Errors + Throttles', [{ Id: 'errors' }, { Id: 'throttles' }]),
            ],
            condition,
          );
        } else {
          added[`${base}ErrorsAlarm`] = alarm(
            `${base}: invocations failed (see its logs and the dead-letter queue)`,
            { Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: dimensions },
            condition,
          );
          added[`${base}ThrottlesAlarm`] = alarm(
            `${base}: invocations throttled (reserved concurrency reached)`,
            { Namespace: 'AWS/Lambda', MetricName: 'Throttles', Dimensions: dimensions },
            condition,
          );
        }
        const ruleId = fn?.[0];
        const isRule = ruleId && (settings.rules ?? []).includes(ruleId);
        if (isRule) {
          for (const metricName of settings.ruleMetrics ?? []) {
            added[`${base}${metricName}Alarm`] = alarm(`${ruleId}: ${metricName}`, {
              Namespace: settings.namespace,
              MetricName: metricName,
              Dimensions: [
                { Name: 'service', Value: settings.service },
                { Name: 'ruleId', Value: ruleId },
              ],
            });
          }
        }
      }
      if (resource.Type === 'AWS::Events::Rule') {
        const targets = (resource.Properties?.Targets ?? []).map(targetFunction);
        const [target] = targets;
        if (targets.length === 1 && target) {
          const key = `${target}\n${resource.Condition ?? ''}`;
          invokers.set(key, [...(invokers.get(key) ?? []), logicalId]);
        } else {
          added[`${logicalId}FailedInvocationsAlarm`] = alarm(
            `${logicalId}: EventBridge could not invoke its target`,
            {
              Namespace: 'AWS/Events',
              MetricName: 'FailedInvocations',
              Dimensions: [{ Name: 'RuleName', Value: { Ref: logicalId } }],
            },
            condition,
          );
        }
      }
    }
    for (const [key, rules] of invokers) {
      const [target, conditionName] = key.split('\n');
      const base = target.slice(0, -'LambdaFunction'.length);
      const groups = chunks([...rules].sort(), MAX_ALARM_METRICS);
      groups.forEach((group, index) => {
        const id = `${base}${conditionName}FailedInvocations${groups.length > 1 ? index + 1 : ''}Alarm`;
        const queries = group.map((rule, at) =>
          metricQuery(`m${at + 1}`, 'AWS/Events', 'FailedInvocations', [
            { Name: 'RuleName', Value: { Ref: rule } },
          ]),
        );
        added[id] = mathAlarm(
          `${base}: EventBridge could not invoke it from ${group.join(', ')}`,
          [...queries, sumOf('failed', 'FailedInvocations', queries)],
          conditionName ? { Condition: conditionName } : {},
        );
      });
    }
    Object.assign(resources, added);
  }

  /** serverless.yml's `resources`, an object or a list of objects serverless will merge. */
  declaredResources(resources) {
    const parts = Array.isArray(resources) ? resources : [resources ?? {}];
    return Object.assign({}, ...parts.map((part) => part?.Resources ?? {}));
  }

  /** serverless's logical id base of a function: ebs-volume-encrypted → EbsDashvolumeDashencrypted. */
  logicalBase(name) {
    return this.serverless.getProvider('aws').naming.getNormalizedFunctionName(name);
  }
}

module.exports = ResponderAlarms;
