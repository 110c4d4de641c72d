import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEARTBEAT_DIMENSIONS, METRICS_NAMESPACE, Metric, ruleDimensions } from '../../shared/metrics';
import { rules } from '../../shared/rules';

const TEMPLATE = join(__dirname, '..', '..', '.serverless', 'cloudformation-template-update-stack.json');

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Alarm {
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: unknown }[];
  AlarmActions: unknown[];
  TreatMissingData?: string;
}

/** Metrics AWS itself emits for the resources the alarms name (we cannot emit these; AWS does). */
const AWS_METRICS: Record<string, readonly string[]> = {
  'AWS/Lambda': ['Errors', 'Throttles'],
  'AWS/Events': ['FailedInvocations'],
  'AWS/SQS': ['ApproximateNumberOfMessagesVisible'],
};

function packaged(): Record<string, Resource> {
  if (!existsSync(TEMPLATE)) throw new Error('run `bash scripts/template-check.sh` first');
  return (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

const dimensionMap = (alarm: Alarm) =>
  Object.fromEntries((alarm.Dimensions ?? []).map((dimension) => [dimension.Name, dimension.Value]));

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
      // Assess
      if (alarm.Namespace === METRICS_NAMESPACE) {
        expect([id, emitted.has(alarm.MetricName)]).toEqual([id, true]);
        const dimensions = dimensionMap(alarm);
        const expected =
          dimensions.function === 'heartbeat'
            ? HEARTBEAT_DIMENSIONS
            : ruleDimensions(String(ruleIds.has(String(dimensions.ruleId)) ? dimensions.ruleId : '?'));
        expect([id, dimensions]).toEqual([id, expected]);
      } else {
        expect([id, AWS_METRICS[alarm.Namespace]?.includes(alarm.MetricName)]).toEqual([id, true]);
        // The dimension names a resource of this stack, so the metric exists once deployed.
        for (const dimension of alarm.Dimensions ?? []) {
          const ref = JSON.stringify(dimension.Value).match(/"(?:Ref|Fn::GetAtt)":\[?"(\w+)"/)?.[1];
          expect([id, ref && ref in resources]).toEqual([id, true]);
        }
      }
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
    const watched = (namespace: string, metric: string) =>
      alarms
        .filter(([, alarm]) => alarm.Namespace === namespace && alarm.MetricName === metric)
        .map(([, alarm]) => JSON.stringify(alarm.Dimensions?.[0]?.Value));
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

  it('page on a tripped guard and on a stuck workflow for every rule', () => {
    for (const metric of [Metric.GuardTripped, Metric.RemediationStuck]) {
      // Assess
      const ruleIds = alarms
        .filter(([, alarm]) => alarm.Namespace === METRICS_NAMESPACE && alarm.MetricName === metric)
        .map(([, alarm]) => dimensionMap(alarm).ruleId);
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
