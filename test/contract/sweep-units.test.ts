import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { roleName, SWEEP_DEAD_LETTER_QUEUE, sweepQueueId } from '../../scripts/lib/deployment';
import { SWEEP_MAX_RECEIVES } from '../../shared/pipeline/sweep-units';
import { rules } from '../../shared/rules';

/**
 * A sweep's units (shared/pipeline/sweep-units.ts) travel on one queue per rule: only that rule's
 * function consumes it, only that rule's role can send to it, and a unit that fails every delivery
 * lands in a dead-letter queue that pages. moto enforces none of this, so it is proven here, on
 * the packaged template (`bash scripts/template-check.sh`).
 */

const TEMPLATE = join(__dirname, '..', '..', '.serverless', 'cloudformation-template-update-stack.json');

interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

function packaged(): Record<string, Resource> {
  if (!existsSync(TEMPLATE)) throw new Error('run `bash scripts/template-check.sh` first');
  return (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

const listOf = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const functionId = (id: string) =>
  `${id.replace(/-/g, 'Dash').replace(/^./, (first) => first.toUpperCase())}LambdaFunction`;
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
/** Does an IAM action pattern (sqs:*, sqs:Send*, *) cover the action? */
const covers = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action);

describe('sweep units in the packaged template', () => {
  const resources = packaged();
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, resource]) => resource.Properties);

  /** Every Allow statement of every role's inline and managed policies, with the role it belongs to. */
  const allowsOf = (): { holder: string; statement: Statement }[] => {
    const managed = new Map(
      ofType('AWS::IAM::ManagedPolicy').map(([id, policy]) => [
        id,
        (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
      ]),
    );
    return ofType('AWS::IAM::Role').flatMap(([roleId, role]) => {
      const inline = listOf(
        role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[],
      ).flatMap((policy) => policy.PolicyDocument.Statement);
      const attached = listOf(role.Properties.ManagedPolicyArns as { Ref?: string }[]).flatMap(
        (arn) => managed.get(arn.Ref ?? '') ?? [],
      );
      return [...inline, ...attached]
        .filter((statement) => statement.Effect === 'Allow')
        .map((statement) => ({ holder: roleId, statement }));
    });
  };

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: its own queue, encrypted with the stack key, redriven to the sweep dead letters, waiting 6× the timeout',
    (id, rule) => {
      // Prepare
      const queue = resources[sweepQueueId(rule)];
      const fn = resources[functionId(id)];
      // Assess
      expect(queue?.Type).toBe('AWS::SQS::Queue');
      expect(queue?.Properties).toMatchObject({
        QueueName: `compliance-responder-dev-${id}-sweep`,
        KmsMasterKeyId: { Ref: 'ResponderKey' },
        RedrivePolicy: {
          deadLetterTargetArn: arnOf(SWEEP_DEAD_LETTER_QUEUE),
          maxReceiveCount: SWEEP_MAX_RECEIVES,
        },
      });
      // A receive Lambda throttles counts as a delivery: AWS advises at least 5 for a queue it consumes
      expect(SWEEP_MAX_RECEIVES).toBeGreaterThanOrEqual(5);
      expect(Number(queue?.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(
        6 * Number(fn?.Properties.Timeout),
      );
    },
  );

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: consumed by its own sweep function alone, reporting partial batch failures, at bounded concurrency',
    (id, rule) => {
      // Prepare
      const consumers = mappings.filter(
        (mapping) => JSON.stringify(mapping.EventSourceArn) === JSON.stringify(arnOf(sweepQueueId(rule))),
      );
      // Assess
      expect(consumers).toHaveLength(1);
      expect(consumers[0]).toMatchObject({
        FunctionName: arnOf(functionId(`${id}-sweep`)),
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    },
  );

  // An SQS event source mapping does not count reserved concurrency: when the function's slots are
  // full, its receives are throttled, and each counts toward the queue's redrive. Live events must
  // never fill the slots a sweep needs (issue 22), so the queue has a function of its own whose
  // reserved concurrency is exactly what its mapping may use at once.
  it.each(rules.map((rule) => [rule.id, rule] as const))(
    "%s: its sweep function runs the rule's handler as its role, reserving exactly the mapping's maximum concurrency",
    (id, rule) => {
      // Prepare
      const sweep = resources[functionId(`${id}-sweep`)];
      const live = resources[functionId(id)];
      const mapping = mappings.find(
        (each) => JSON.stringify(each.EventSourceArn) === JSON.stringify(arnOf(sweepQueueId(rule))),
      );
      const maximum = (mapping?.ScalingConfig as { MaximumConcurrency?: unknown } | undefined)
        ?.MaximumConcurrency;
      // Assess
      expect(sweep?.Type).toBe('AWS::Lambda::Function');
      expect(sweep?.Properties).toMatchObject({
        Handler: live?.Properties.Handler,
        Role: arnOf(roleName(rule)),
        ReservedConcurrentExecutions: maximum,
      });
      expect(maximum).toEqual(expect.any(Number));
    },
  );

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    "%s: its sweep function logs to the rule function's log group (encrypted, created first), with none of its own",
    (id) => {
      // Prepare
      const sweep = resources[functionId(`${id}-sweep`)] as (Resource & { DependsOn?: string[] }) | undefined;
      const logGroupId = functionId(id).replace(/LambdaFunction$/, 'LogGroup');
      const logGroup = resources[logGroupId];
      // Assess
      expect(logGroup?.Properties).toMatchObject({
        LogGroupName: `/aws/lambda/compliance-responder-dev-${id}`,
        KmsKeyId: arnOf('ResponderKey'),
      });
      expect(sweep?.Properties.LoggingConfig).toEqual({ LogGroup: logGroup?.Properties.LogGroupName });
      expect(sweep?.DependsOn).toContain(logGroupId);
      expect(resources[functionId(`${id}-sweep`).replace(/LambdaFunction$/, 'LogGroup')]).toBeUndefined();
    },
  );

  it('leaves no SQS event source mapping on a rule function: live events and sweeps never share slots', () => {
    // Prepare
    const queues = new Set(ofType('AWS::SQS::Queue').map(([id]) => JSON.stringify(arnOf(id))));
    const ruleFunctions = new Set(rules.map((rule) => JSON.stringify(arnOf(functionId(rule.id)))));
    const fromQueues = mappings.filter((mapping) => queues.has(JSON.stringify(mapping.EventSourceArn)));
    // Assess
    expect(fromQueues.length).toBeGreaterThanOrEqual(rules.length);
    expect(fromQueues.filter((mapping) => ruleFunctions.has(JSON.stringify(mapping.FunctionName)))).toEqual(
      [],
    );
  });

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    "%s: only the rule's role may send to its queue (its role's policies, and the queue's own policy)",
    (_id, rule) => {
      // Prepare
      const queueArn = JSON.stringify(arnOf(sweepQueueId(rule)));
      const senders = allowsOf()
        .filter(({ statement }) =>
          listOf(statement.Action).some((action) => covers(action, 'sqs:SendMessage')),
        )
        .filter(({ statement }) =>
          listOf(statement.Resource).some((resource) => {
            if (JSON.stringify(resource) === queueArn) return true;
            // A wildcard ARN (the boundary's) reaches it too: only a boundary may hold one.
            const text = JSON.stringify(resource);
            return text === '"*"' || (text.includes('sqs') && text.includes('-sweep') && text.includes('*'));
          }),
        )
        .map(({ holder, statement }) => ({
          holder,
          resources: listOf(statement.Resource).map((r) => JSON.stringify(r)),
        }));
      const policy = ofType('AWS::SQS::QueuePolicy').find(
        ([, resource]) =>
          JSON.stringify(resource.Properties.Queues) === JSON.stringify([{ Ref: sweepQueueId(rule) }]),
      )?.[1];
      const statements =
        (policy?.Properties.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [];
      // Assess: no role but its own is granted SendMessage on the queue (a boundary grants nothing)
      expect(senders).toEqual([{ holder: roleName(rule), resources: [queueArn] }]);
      expect(statements).toEqual([
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Action: expect.arrayContaining(['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']),
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': arnOf(roleName(rule)) } },
        }),
      ]);
    },
  );

  it('dead-letters encrypted, and pages the alert topic for any unit waiting there', () => {
    // Prepare
    const deadLetters = resources[SWEEP_DEAD_LETTER_QUEUE];
    const alarms = ofType('AWS::CloudWatch::Alarm')
      .map(([, alarm]) => alarm.Properties)
      .filter((alarm) =>
        JSON.stringify(alarm.Dimensions ?? null).includes(
          JSON.stringify({ 'Fn::GetAtt': [SWEEP_DEAD_LETTER_QUEUE, 'QueueName'] }),
        ),
      );
    // Assess
    expect(deadLetters?.Properties).toMatchObject({
      KmsMasterKeyId: { Ref: 'ResponderKey' },
    });
    expect(alarms).toEqual([
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: 'AlertTopic' }],
      }),
    ]);
  });

  it('tells every function where its queue is', () => {
    // Assess
    for (const rule of rules) {
      const fn = resources[functionId(rule.id)];
      const variables = (fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      expect(JSON.stringify(variables?.SWEEP_QUEUE_PREFIX)).toContain('compliance-responder-dev-');
    }
  });
});
