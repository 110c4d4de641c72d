import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createAwsClients } from '../aws/clients';
import { loadSettings } from '../config';
import { HEARTBEAT_DIMENSIONS, METRICS_NAMESPACE, Metric, SERVICE_NAME } from '../metrics';
import { OrganisationAccounts } from '../organisation/accounts';
import { rules } from '../rules';
import { parseScheduledEvent } from '../triggers';
import { checkHealth, type HeartbeatReport, recordDeployment } from './heartbeat';

/**
 * The heartbeat function: on its schedule, checks that the responder can still hear (triggers,
 * Config rules, a logging trail), records the deployment's facts when they changed (the history the
 * auditor's report reads its modes and coverage from) and publishes Heartbeat (1 a run) and HeartbeatProblems. It pages
 * through alarms, not incidents: a missing Heartbeat (the function itself broken or never run) can
 * only page that way, and self-protection and cloudtrail-logging-on already open the incidents
 * for what they repair, so the heartbeat adds no second page for one cause.
 */
export function heartbeatHandler() {
  const settings = loadSettings(rules);
  const logger = new Logger({ serviceName: SERVICE_NAME, persistentKeys: { stage: settings.stage } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { function: HEARTBEAT_DIMENSIONS.function },
  });
  const aws = createAwsClients(settings.homeRegion);
  // Organisation deployment: which members to expect heartbeats from (ListAccounts, as the rules list them).
  const accounts = settings.organizationId
    ? new OrganisationAccounts({
        homeRegion: settings.homeRegion,
        stackName: settings.stackName,
        // It never assumes a member role: the rule id names none.
        ruleId: 'heartbeat',
        managementAccountMember: settings.managementAccountMember,
        sts: aws.sts(settings.homeRegion),
      })
    : undefined;

  async function beat(event: unknown): Promise<HeartbeatReport> {
    const { sweep } = parseScheduledEvent(event) as Extract<
      ReturnType<typeof parseScheduledEvent>,
      { kind: 'sweep' }
    >;
    const health = await checkHealth(
      rules,
      { accountId: sweep.accountId, settings, ...(accounts && { accounts }) },
      aws,
    );
    const report = await recordDeployment(
      health,
      { accountId: sweep.accountId, region: sweep.region, settings, now: new Date() },
      aws,
    );
    // Published only after every check ran: a check that throws leaves Heartbeat missing, which pages.
    metrics.addMetric(Metric.HeartbeatProblems, MetricUnit.Count, report.problems.length);
    metrics.addMetric(Metric.Heartbeat, MetricUnit.Count, 1);
    if (report.healthy) logger.info('heartbeat: healthy', { checked: report.checked });
    else logger.error('heartbeat: the responder is blind or deaf', { problems: report.problems });
    return report;
  }

  return middy(beat).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
