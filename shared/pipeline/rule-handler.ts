import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createAwsClients } from '../aws/clients';
import { loadSettings } from '../config';
import { DynamoDbExemptionLedger } from '../exemptions/ledger';
import { METRICS_NAMESPACE, Metric, SERVICE_NAME } from '../metrics';
import type { Rule } from '../rules/rule';
import { narrowedScope, narrowedScopeWarning } from '../rules/scope';
import { parseTriggerEvent } from '../triggers';
import { SnsAlertPublisher } from './alerts';
import { BlastRadiusGuard } from './guards';
import { DynamoDbIncidentStore } from './incident-store';
import type { ResourceOutcome } from './outcomes';
import { ResponsePipeline } from './run-pipeline';

export interface HandlerResult {
  ruleId: string;
  outcomes: ResourceOutcome[];
  evaluationsSent: number;
}

/**
 * The whole of a function: `export const handler = ruleHandler(rule)`. Settings are validated here,
 * at cold start, so a bad parameter fails the deployment's first invocation naming the setting.
 * Bad input throws ValidationError: the invocation fails and, after Lambda's retries, the event
 * lands in the dead-letter queue with the reason. Nothing was written to AWS by then.
 */
export function ruleHandler(rule: Rule) {
  const settings = loadSettings([rule]);
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
  const pipeline = new ResponsePipeline(rule, {
    aws,
    settings,
    // Status transitions name the function that made them.
    store: new DynamoDbIncidentStore(
      aws.dynamo(),
      settings.incidentTable,
      settings.incidentRetentionDays,
      undefined,
      `function ${settings.stackName}-${rule.id}`,
    ),
    alerts: new SnsAlertPublisher(aws.sns(), settings.alertTopicArn),
    guard: new BlastRadiusGuard(
      aws.dynamo(),
      settings.incidentTable,
      settings.guard.threshold,
      settings.guard.windowMinutes,
    ),
    exemptions: new DynamoDbExemptionLedger(
      aws.dynamo(),
      settings.incidentTable,
      settings.incidentRetentionDays,
    ),
    logger,
    metrics: { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) },
  });

  async function respond(event: unknown): Promise<HandlerResult> {
    // Every invocation counts, so a silent function is visible in its metrics.
    metrics.addMetric(Metric.EventsReceived, MetricUnit.Count, 1);
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
