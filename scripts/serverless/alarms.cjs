/**
 * Adds the alarms that follow from the template itself, so a new function or trigger can never go
 * unwatched: for every function its Errors and Throttles, for every EventBridge rule its
 * FailedInvocations, and for every rule function the pipeline metrics in custom.alarms.ruleMetrics
 * (GuardTripped, RemediationStuck). All go to the alert topic. The hand-written alarms (dead
 * letters, heartbeat) are in serverless.yml. test/contract/alarms.test.ts checks the result.
 *
 * It runs before serverless merges serverless.yml's `resources` (the hand-written ones and those
 * scripts/lib/deployment.ts generates), so it reads those too: their EventBridge rules are watched
 * by the same builder, under the rule's Condition.
 */
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
    const alarm = (description, metric, extra = {}) => ({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: description,
        ActionsEnabled: true,
        AlarmActions: [topic],
        OKActions: [topic],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        ...metric,
        ...extra,
      },
    });
    const added = {};
    const declared = { ...this.declaredResources(service.resources), ...resources };
    for (const [logicalId, resource] of Object.entries(declared)) {
      if (resource.Type === 'AWS::Lambda::Function' && logicalId.endsWith('LambdaFunction')) {
        const base = logicalId.slice(0, -'LambdaFunction'.length);
        const FunctionName = { Ref: logicalId };
        const dimensions = [{ Name: 'FunctionName', Value: FunctionName }];
        added[`${base}ErrorsAlarm`] = alarm(
          `${base}: invocations failed (see its logs and the dead-letter queue)`,
          {
            Namespace: 'AWS/Lambda',
            MetricName: 'Errors',
            Dimensions: dimensions,
          },
        );
        added[`${base}ThrottlesAlarm`] = alarm(
          `${base}: invocations throttled (reserved concurrency reached)`,
          {
            Namespace: 'AWS/Lambda',
            MetricName: 'Throttles',
            Dimensions: dimensions,
          },
        );
        // A function that exists only under a condition (an optional feature): so do its alarms.
        if (resource.Condition) {
          added[`${base}ErrorsAlarm`].Condition = resource.Condition;
          added[`${base}ThrottlesAlarm`].Condition = resource.Condition;
        }
        const fn = Object.entries(service.functions).find(([name]) => this.logicalBase(name) === base);
        const ruleId = fn?.[0];
        if (ruleId && !(settings.notRules ?? []).includes(ruleId)) {
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
        added[`${logicalId}FailedInvocationsAlarm`] = alarm(
          `${logicalId}: EventBridge could not invoke its target`,
          {
            Namespace: 'AWS/Events',
            MetricName: 'FailedInvocations',
            Dimensions: [{ Name: 'RuleName', Value: { Ref: logicalId } }],
          },
        );
        if (resource.Condition) added[`${logicalId}FailedInvocationsAlarm`].Condition = resource.Condition;
      }
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
