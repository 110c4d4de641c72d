import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createAwsClients } from '../aws/clients';
import { loadSettings } from '../config';
import { errorMessage, ValidationError } from '../errors';
import { DynamoDbExemptionLedger } from '../exemptions/ledger';
import { METRICS_NAMESPACE, Metric, SERVICE_NAME } from '../metrics';
import { OrganisationAccounts } from '../organisation/accounts';
import type { Rule } from '../rules/rule';
import { narrowedScope, narrowedScopeWarning } from '../rules/scope';
import { parseTriggerEvent } from '../triggers';
import { isSqsEvent, parseSqsRecord, parseSweepUnit, queueOf } from '../triggers/sweep-unit';
import { SnsAlertPublisher } from './alerts';
import { BatchedDeliveryReader } from './delivery-reads';
import { BlastRadiusGuard } from './guards';
import { DynamoDbIncidentStore } from './incident-store';
import type { ResourceOutcome } from './outcomes';
import { ResponsePipeline } from './run-pipeline';
import { sweepQueueTail } from './sweep-names';
import { SqsUnitQueue } from './sweep-units';

export interface HandlerResult {
  ruleId: string;
  outcomes: ResourceOutcome[];
  evaluationsSent: number;
  /** For a batch of sweep units (SQS, ReportBatchItemFailures): the units to deliver again. */
  batchItemFailures?: { itemIdentifier: string }[];
}

/**
 * The whole of a function: `export const handler = ruleHandler(rule)`. Settings are validated here,
 * at cold start, so a bad parameter fails the deployment's first invocation naming the setting.
 * Bad input throws ValidationError: the invocation fails and, after Lambda's retries, the event
 * lands in the dead-letter queue with the reason. Nothing was written to AWS by then.
 */
export function ruleHandler(rule: Rule, env: NodeJS.ProcessEnv = process.env) {
  const settings = loadSettings([rule], env);
  const logger = new Logger({
    serviceName: 'compliance-responder',
    persistentKeys: { ruleId: rule.id, stage: settings.stage },
  });
  // Default dimensions, not addDimension: those are cleared after each flush, and alarms match exactly.
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { ruleId: rule.id },
  });
  // A narrowed scope is never silent: each cold start says so, once (keys, never values).
  const narrowed = narrowedScope(rule, settings);
  if (narrowed) logger.warn(narrowedScopeWarning(narrowed), { ...narrowed });
  const aws = createAwsClients(settings.homeRegion);
  // The invocation running now (Lambda runs one at a time in an environment): its time left.
  let invocation: Partial<Pick<Context, 'getRemainingTimeInMillis'>> | undefined;
  // Status transitions name the function that made them: the rule's, or its sweep function
  // (`<rule id>-sweep` runs this handler too), as Lambda names the one running.
  const store = new DynamoDbIncidentStore(
    aws.dynamo(),
    settings.incidentTable,
    settings.incidentRetentionDays,
    undefined,
    `function ${env.AWS_LAMBDA_FUNCTION_NAME ?? `${settings.stackName}-${rule.id}`}`,
  );
  const guard = new BlastRadiusGuard(
    aws.dynamo(),
    settings.incidentTable,
    settings.guard.threshold,
    settings.guard.windowMinutes,
  );
  const exemptions = new DynamoDbExemptionLedger(
    aws.dynamo(),
    settings.incidentTable,
    settings.incidentRetentionDays,
  );
  const pipeline = new ResponsePipeline(rule, {
    aws,
    settings,
    store,
    alerts: new SnsAlertPublisher(aws.sns(), settings.alertTopicArn),
    guard,
    exemptions,
    reads: new BatchedDeliveryReader(aws.dynamo(), { store, exemptions, guard }),
    logger,
    metrics: { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) },
    // Without a Lambda context (a local call with none), no deadline.
    remainingMs: () => invocation?.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY,
    // A rule of the home stack alone (self-protection) keeps ORGANIZATION_ID for the bus statement
    // it judges; of this it only ever asks own() (GetCallerIdentity, which needs no permission).
    ...(settings.organizationId && {
      accounts: new OrganisationAccounts({
        homeRegion: settings.homeRegion,
        stackName: settings.stackName,
        ruleId: rule.id,
        managementAccountMember: settings.managementAccountMember,
        sts: aws.sts(settings.homeRegion),
      }),
    }),
    ...(settings.sweepUnits.queuePrefix && {
      units: new SqsUnitQueue(aws.sqs(), `${settings.sweepUnits.queuePrefix}${sweepQueueTail(rule.id)}`),
    }),
  });

  /**
   * A batch of sweep units, one after another (each is sized to a fraction of the timeout). A unit
   * that fails or is refused is reported alone; SQS delivers it again, then dead-letters it.
   */
  async function consumeUnits(records: readonly unknown[]): Promise<HandlerResult> {
    const outcomes: ResourceOutcome[] = [];
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const raw of records) {
      // Without its message id a failure cannot be reported alone: the whole batch fails.
      const record = parseSqsRecord(raw);
      try {
        const unit = parseSweepUnit(record.body);
        const queue = queueOf(record);
        outcomes.push(
          ...(await pipeline.handleUnit(unit, {
            accountId: queue.accountId,
            region: queue.region,
            queueName: queue.name,
            receiveCount: record.attributes.ApproximateReceiveCount,
          })),
        );
      } catch (error) {
        batchItemFailures.push({ itemIdentifier: record.messageId });
        metrics.addMetric(Metric.SweepUnitFailed, MetricUnit.Count, 1);
        logger.error(error instanceof ValidationError ? 'sweep unit refused' : 'sweep unit failed', {
          messageId: record.messageId,
          receiveCount: record.attributes.ApproximateReceiveCount,
          error: errorMessage(error),
        });
      }
    }
    return { ruleId: rule.id, outcomes, evaluationsSent: 0, batchItemFailures };
  }

  async function respond(event: unknown, context?: Context): Promise<HandlerResult> {
    invocation = context;
    // Every invocation counts, so a silent function is visible in its metrics.
    metrics.addMetric(Metric.EventsReceived, MetricUnit.Count, 1);
    if (isSqsEvent(event)) return consumeUnits(event.Records);
    const trigger = parseTriggerEvent(event);
    const outcomes = await pipeline.handle(trigger);
    const evaluationsSent = await pipeline.answer(trigger, outcomes);
    logger.info('event handled', {
      outcomes: outcomes.map(({ resourceId, compliance, status, incidentId }) => ({
        resourceId,
        compliance,
        status,
        incidentId,
      })),
    });
    return { ruleId: rule.id, outcomes, evaluationsSent };
  }

  return middy(respond).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
