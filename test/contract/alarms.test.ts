import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEARTBEAT_DIMENSIONS, METRICS_NAMESPACE, Metric, ruleDimensions } from '../../shared/metrics';
import { rules } from '../../shared/rules';

const TEMPLATE = join(__dirname, '..', '..', '.serverless', 'cloudformation-template-update-stack.json');

interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
}
interface Dimension {
  Name: string;
  Value: unknown;
}
interface MetricQuery {
  Id: string;
  MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: Dimension[] }; Stat: string };
  Expression?: string;
  ReturnData?: boolean;
}
interface Alarm {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Dimension[];
  Metrics?: MetricQuery[];
  AlarmActions: unknown[];
  TreatMissingData?: string;
}
/** One metric an alarm reads, directly or in its metric math. */
interface Watched {
  namespace: string;
  metricName: string;
  dimensions: Dimension[];
}

/** Metrics AWS itself emits for the resources the alarms name (we cannot emit these; AWS does). */
const AWS_METRICS: Record<string, readonly string[]> = {
  'AWS/Lambda': ['Errors', 'Throttles'],
  'AWS/Events': ['FailedInvocations'],
  'AWS/SQS': ['ApproximateNumberOfMessagesVisible'],
};
/** CloudWatch refuses an alarm whose math reads more than 10 metrics. */
const MAX_ALARM_METRICS = 10;

function packaged(): Record<string, Resource> {
  if (!existsSync(TEMPLATE)) throw new Error('run `bash scripts/template-check.sh` first');
  return (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

const dimensionMap = (dimensions: Dimension[]) =>
  Object.fromEntries(dimensions.map((dimension) => [dimension.Name, dimension.Value]));

/** Every metric an alarm reads: its one metric, or each MetricStat of its math. */
const watchedBy = (alarm: Alarm): Watched[] =>
  alarm.Metrics
    ? alarm.Metrics.flatMap((query) =>
        query.MetricStat
          ? [
              {
                namespace: query.MetricStat.Metric.Namespace,
                metricName: query.MetricStat.Metric.MetricName,
                dimensions: query.MetricStat.Metric.Dimensions ?? [],
              },
            ]
          : [],
      )
    : [
        {
          namespace: String(alarm.Namespace),
          metricName: String(alarm.MetricName),
          dimensions: alarm.Dimensions ?? [],
        },
      ];

describe('the alarms in the packaged template', () => {
  const resources = packaged();
  const alarms = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm')
    .map(([id, resource]) => [id, resource.Properties as unknown as Alarm] as const);
  const ofType = (type: string) =>
    Object.entries(resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id]) => id);
  const emitted = new Set<string>(Object.values(Metric));

  it('watch only metrics that are emitted: ours by name, namespace and dimensions, or AWS-emitted ones', () => {
    // Prepare
    const ruleIds = new Set(rules.map((rule) => rule.id));
    expect(alarms.length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms) {
      for (const watched of watchedBy(alarm)) {
        // Assess
        if (watched.namespace === METRICS_NAMESPACE) {
          expect([id, emitted.has(watched.metricName)]).toEqual([id, true]);
          const dimensions = dimensionMap(watched.dimensions);
          const expected =
            dimensions.function === 'heartbeat'
              ? HEARTBEAT_DIMENSIONS
              : ruleDimensions(String(ruleIds.has(String(dimensions.ruleId)) ? dimensions.ruleId : '?'));
          expect([id, dimensions]).toEqual([id, expected]);
        } else {
          expect([id, AWS_METRICS[watched.namespace]?.includes(watched.metricName)]).toEqual([id, true]);
          // The dimension names a resource of this stack, so the metric exists once deployed.
          for (const dimension of watched.dimensions) {
            const ref = JSON.stringify(dimension.Value).match(/"(?:Ref|Fn::GetAtt)":\[?"(\w+)"/)?.[1];
            expect([id, ref && ref in resources]).toEqual([id, true]);
          }
        }
      }
    }
  });

  it("sum their metric math's metrics robustly: at most 10 each, a missing series counting 0, no data not breaching", () => {
    // Prepare
    const math = alarms.filter(([, alarm]) => alarm.Metrics !== undefined);
    expect(math.length).toBeGreaterThan(0);
    for (const [id, alarm] of math) {
      const queries = alarm.Metrics ?? [];
      const reads = queries.filter((query) => query.MetricStat);
      const returned = queries.filter((query) => query.ReturnData !== false);
      // Assess
      expect([id, reads.length <= MAX_ALARM_METRICS]).toEqual([id, true]);
      expect([
        id,
        reads.every((query) => query.MetricStat?.Stat === 'Sum' && query.ReturnData === false),
      ]).toEqual([id, true]);
      expect([id, returned.length]).toEqual([id, 1]);
      for (const query of reads)
        expect([id, returned[0]?.Expression]).toEqual([id, expect.stringContaining(`FILL(${query.Id}, 0)`)]);
      expect([id, alarm.TreatMissingData]).toEqual([id, 'notBreaching']);
    }
  });

  it('page the alert topic', () => {
    for (const [id, alarm] of alarms) {
      // Assess
      expect([id, alarm.AlarmActions]).toEqual([id, [{ Ref: 'AlertTopic' }]]);
    }
  });

  it('cover every function (errors, throttles), every EventBridge rule and the dead letters', () => {
    // Prepare
    const watchedIn = (namespace: string, metric: string, of = alarms) =>
      of.flatMap(([, alarm]) =>
        watchedBy(alarm)
          .filter((watched) => watched.namespace === namespace && watched.metricName === metric)
          .map((watched) => JSON.stringify(watched.dimensions[0]?.Value)),
      );
    const watched = (namespace: string, metric: string) => watchedIn(namespace, metric);
    const refs = (ids: string[]) => ids.map((id) => JSON.stringify({ Ref: id })).sort();
    const functions = ofType('AWS::Lambda::Function');
    // Assess
    expect(functions).toContain('HeartbeatLambdaFunction');
    expect(watched('AWS/Lambda', 'Errors').sort()).toEqual(refs(functions));
    expect(watched('AWS/Lambda', 'Throttles').sort()).toEqual(refs(functions));
    expect(watched('AWS/Events', 'FailedInvocations').sort()).toEqual(refs(ofType('AWS::Events::Rule')));
    // Every dead-letter queue: the functions' and the one every sweep queue redrives to.
    const deadLetterQueues = [
      'DeadLetterQueue',
      ...new Set(
        Object.values(resources).flatMap((resource) => {
          const redrive = resource.Properties?.RedrivePolicy as {
            deadLetterTargetArn?: { 'Fn::GetAtt': string[] };
          };
          return redrive?.deadLetterTargetArn ? [redrive.deadLetterTargetArn['Fn::GetAtt'][0] as string] : [];
        }),
      ),
    ];
    expect(deadLetterQueues).toContain('SweepDeadLetterQueue');
    expect(watched('AWS/SQS', 'ApproximateNumberOfMessagesVisible').sort()).toEqual(
      deadLetterQueues.map((id) => JSON.stringify({ 'Fn::GetAtt': [id, 'QueueName'] })).sort(),
    );
  });

  it('sum FailedInvocations per target function, each alarm existing exactly when its rules do (their Condition)', () => {
    // Prepare
    const failedInvocations = Object.entries(resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::CloudWatch::Alarm' &&
        watchedBy(resource.Properties as unknown as Alarm).some(
          (watched) => watched.metricName === 'FailedInvocations',
        ),
    );
    const eventRules = ofType('AWS::Events::Rule');
    // Assess: fewer alarms than rules (the resource budget), each reading rules of one function and one Condition
    expect(failedInvocations.length).toBeLessThan(eventRules.length);
    for (const [id, alarm] of failedInvocations) {
      const ruleIds = watchedBy(alarm.Properties as unknown as Alarm).map(
        (watched) => (watched.dimensions[0]?.Value as { Ref?: string } | undefined)?.Ref ?? '',
      );
      const targets = new Set(
        ruleIds.map((ruleId) =>
          JSON.stringify((resources[ruleId]?.Properties.Targets as { Arn: unknown }[] | undefined)?.[0]?.Arn),
        ),
      );
      const conditions = new Set(ruleIds.map((ruleId) => resources[ruleId]?.Condition));
      expect([id, targets.size, conditions.size]).toEqual([id, 1, 1]);
      expect([id, alarm.Condition]).toEqual([id, [...conditions][0]]);
    }
  });

  it('page on a tripped guard and on a stuck workflow for every rule', () => {
    for (const metric of [Metric.GuardTripped, Metric.RemediationStuck]) {
      // Assess
      const ruleIds = alarms
        .filter(([, alarm]) => alarm.Namespace === METRICS_NAMESPACE && alarm.MetricName === metric)
        .map(([, alarm]) => dimensionMap(alarm.Dimensions ?? []).ruleId);
      expect(ruleIds.sort()).toEqual(rules.map((rule) => rule.id).sort());
    }
  });

  it('treat a missing heartbeat as breaching, so silence pages', () => {
    // Assess
    const heartbeat = alarms.filter(([, alarm]) => alarm.MetricName === Metric.Heartbeat);
    expect(heartbeat).toHaveLength(1);
    expect(heartbeat[0]?.[1].TreatMissingData).toBe('breaching');
  });
});
