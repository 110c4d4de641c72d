import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { cloudTrailEvent, humanCaller } from '../scripts/lib/events';
import { drainInbox, listIncidents } from '../scripts/lib/local-stack';
import { recordCalls } from '../scripts/lib/recorder';
import { mapWithConcurrency } from '../shared/concurrency';
import { ACCOUNT, type Bench, bundlePath, FunctionProcess, REGION } from './harness';

export interface StormResult {
  fn: string;
  events: number;
  drifts: number;
  /** Function processes handling events at once (serverless.yml's reservedConcurrency). */
  concurrency: number;
  wallMs: number;
  eventsPerSecond: number;
  /** Every AWS call moto recorded while the storm ran (DynamoDB included). */
  calls: number;
  callsPerEvent: number;
  incidents: number;
  /** Incidents beyond one per drift: must be 0. */
  duplicateIncidents: number;
  alerts: number;
  /** Alerts beyond one per drift: must be 0. */
  duplicateAlerts: number;
  remediated: number;
  errors: string[];
}

export const DELIVERIES_PER_DRIFT = 5;

/** A small deterministic shuffle (no Math.random): the same storm every run. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let index = out.length - 1; index > 0; index--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other] as T, out[index] as T];
  }
  return out;
}

/**
 * `events` CloudTrail events for `events / 5` world-open SSH rules, delivered in a shuffled order by
 * `concurrency` function processes: each drift arrives three times as the same event (EventBridge
 * redelivery, same id) and twice more as distinct calls (new ids).
 */
export async function measureStorm(bench: Bench, events: number, concurrency: number): Promise<StormResult> {
  const fn = 'ssh-open-to-world';
  const drifts = Math.max(1, Math.floor(events / DELIVERIES_PER_DRIFT));
  const ec2 = new EC2Client({ region: REGION });
  const groupIds = await mapWithConcurrency(
    Array.from({ length: drifts }, (_, index) => index),
    8,
    async (index) => {
      const group = await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: `storm-${index}`, Description: 'storm' }),
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        }),
      );
      return String(group.GroupId);
    },
  );
  const deliveries = groupIds.flatMap((groupId) => {
    const call = {
      eventName: 'AuthorizeSecurityGroupIngress',
      eventSource: 'ec2.amazonaws.com',
      region: REGION,
      caller: humanCaller(ACCOUNT, 'dev-carol'),
      requestParameters: {
        groupId,
        ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22 }] },
      },
    };
    const redelivered = cloudTrailEvent(call);
    return [redelivered, redelivered, redelivered, cloudTrailEvent(call), cloudTrailEvent(call)];
  });
  const queue = shuffled(deliveries.slice(0, events));
  const workers = await Promise.all(
    Array.from({ length: concurrency }, () => FunctionProcess.start(bundlePath(fn), bench.env())),
  );
  const errors = new Set<string>();
  let wallMs = Number.NaN;
  const calls = await recordCalls(async () => {
    const started = performance.now();
    try {
      let next = 0;
      // Each process takes the next event when it is free, as Lambda gives a free environment the next event.
      await Promise.all(
        workers.map(async (worker) => {
          while (next < queue.length) {
            const invocation = await worker.invoke(queue[next++]);
            if (invocation.error) errors.add(invocation.error);
          }
        }),
      );
    } finally {
      for (const worker of workers) worker.stop();
    }
    wallMs = performance.now() - started;
  });
  const incidents = (await listIncidents(bench.stack)).filter((incident) => incident.ruleId === fn);
  const alerts = (await drainInbox(REGION, bench.inboxUrl, 1)).filter(
    (alert) => alert.attributes.ruleId === fn,
  );
  const driftsAlerted = new Set(alerts.map((alert) => alert.body.incidentId)).size;
  return {
    fn,
    events: queue.length,
    drifts,
    concurrency,
    wallMs,
    eventsPerSecond: queue.length / (wallMs / 1000),
    calls: calls.length,
    callsPerEvent: calls.length / queue.length,
    incidents: incidents.length,
    duplicateIncidents: incidents.length - new Set(incidents.map((incident) => incident.resourceId)).size,
    alerts: alerts.length,
    duplicateAlerts: alerts.length - driftsAlerted,
    remediated: incidents.filter((incident) => incident.status === 'remediated').length,
    errors: [...errors],
  };
}
