import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { createAwsClients } from '../aws/clients';
import { loadSettings } from '../config';
import { METRICS_NAMESPACE, Metric, SERVICE_NAME } from '../metrics';
import { OrganisationAccounts } from '../organisation/accounts';
import { DynamoDbMemberHeartbeats, type ReceiveOutcome, receiveMemberHeartbeat } from './member-heartbeat';

/**
 * The member-heartbeat function (deployment: organisation): records when each member stack, in each
 * region, was last heard (shared/health/member-heartbeat.ts). Its own function, apart from the
 * heartbeat's: thousands of member beats an hour never delay the heartbeat, whose absence pages.
 */
export function memberHeartbeatHandler() {
  // No rule's settings: it runs none, and its bundle carries none (scripts/lib/bundle-clients.ts).
  const settings = loadSettings([]);
  const logger = new Logger({ serviceName: SERVICE_NAME, persistentKeys: { stage: settings.stage } });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { function: 'member-heartbeat' },
  });
  const aws = createAwsClients(settings.homeRegion);
  const accounts = new OrganisationAccounts({
    homeRegion: settings.homeRegion,
    stackName: settings.stackName,
    // It never assumes a member role: the rule id names none.
    ruleId: 'member-heartbeat',
    managementAccountMember: settings.managementAccountMember,
    sts: aws.sts(settings.homeRegion),
  });
  const heartbeats = new DynamoDbMemberHeartbeats(aws.dynamo(), settings.incidentTable);

  async function receive(event: unknown): Promise<ReceiveOutcome> {
    if (!settings.organizationId)
      return { outcome: 'refused', reason: 'not an organisation deployment: no member stacks to hear' };
    const received = await receiveMemberHeartbeat(event, {
      stackName: settings.stackName,
      accounts,
      heartbeats,
      now: new Date(),
    });
    if (received.outcome === 'refused') {
      metrics.addMetric(Metric.AccountRefused, MetricUnit.Count, 1);
      logger.warn('member heartbeat refused', { ...received });
    } else if (received.outcome === 'ignored')
      logger.warn('not a member heartbeat: ignored', { ...received });
    else logger.info('member heartbeat', { ...received });
    return received;
  }

  return middy(receive).use(injectLambdaContext(logger)).use(logMetrics(metrics));
}
