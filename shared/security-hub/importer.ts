import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  BatchUpdateFindingsCommand,
  type SecurityHubClient,
  type WorkflowStatus,
} from '@aws-sdk/client-securityhub';
import type { STSClient } from '@aws-sdk/client-sts';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type AwsClients, createAwsClients } from '../aws/clients';
import { ConfigurationError, errorMessage } from '../errors';
import { METRICS_NAMESPACE, Metric, SERVICE_NAME } from '../metrics';
import { MemberRoleUnavailable, OrganisationAccounts } from '../organisation/accounts';
import { SECURITY_HUB_IMPORTER } from '../organisation/member-roles';
import { type FindingTarget, findingChangeOf, targetOfProductArn } from './asff';

/** Security Hub's limits (BatchImportFindings guidelines): findings a call, bytes a finding and a call. */
export const FINDINGS_PER_CALL = 100;
export const FINDING_BYTES = 240 * 1024;
export const CALL_BYTES = 6 * 1024 * 1024;
/** 10 requests a second per account and region (burst 30): the pacer keeps under the steady rate. */
export const REQUESTS_PER_SECOND = 10;

/** Waits before each request so that at most `perSecond` go out in any second. */
export type Pacer = () => Promise<void>;

export function pacer(
  perSecond: number,
  now: () => number = Date.now,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Pacer {
  const gap = 1000 / perSecond;
  let last = Number.NEGATIVE_INFINITY;
  return async function pace() {
    const due = last + gap - now();
    if (due > 0) await wait(due);
    last = now();
  };
}

type Image = Record<string, AttributeValue>;
const itemOf = (image: unknown) => (image ? unmarshall(image as Image) : undefined);

/** One incident's changes in a batch: the latest finding and workflow, and every record that asked. */
interface Pending {
  incidentId: string;
  finding: AwsSecurityFinding;
  bytes: number;
  workflow?: WorkflowStatus;
  records: DynamoDBRecord[];
}

const sizeOf = (finding: AwsSecurityFinding) => Buffer.byteLength(JSON.stringify(finding));

/** Import calls within Security Hub's limits: at most 100 findings and 6 MB each. */
export function chunksOf<T extends { bytes: number }>(items: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length === FINDINGS_PER_CALL || (current.length > 0 && bytes + item.bytes > CALL_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

type Hub = Pick<SecurityHubClient, 'send'>;

/**
 * deployment: organisation - the hubs of member accounts (docs/security-hub.md): a member's incident
 * is imported in that member, as the importer's member role there, into its own default product.
 */
export interface MemberHubs {
  /** An ACTIVE account of the organisation, as Organizations listed it lately: never the table's word. */
  isActiveMember(accountId: string): Promise<boolean>;
  /** Security Hub in the account, as the importer's member role there. Throws MemberRoleUnavailable. */
  hubIn(accountId: string): Promise<Hub>;
}

export interface SecurityHubSink {
  /** This account's Security Hub, with the function's own role. */
  client: Hub;
  target: FindingTarget;
  pace: Pacer;
  /** Told about what was not sent, by count, account and incident id only. */
  warn?: (message: string, details: Record<string, unknown>) => void;
  /** Absent (a single account): another account's incident is left out, as BatchImportFindings would refuse it. */
  members?: MemberHubs;
  /** Counts an account refused or a member role not assumed (shared/metrics.ts). */
  count?: (metric: Metric) => void;
}

/** Why a call failed, under keys a Powertools log line keeps (it drops a `message` key: reserved). */
const causeOf = (error: unknown) => ({
  error: error instanceof Error ? error.name : typeof error,
  reason: errorMessage(error),
});

/**
 * Imports each incident's finding into Security Hub from the table's stream, and moves its workflow
 * where the incident's new status asks (docs/security-hub.md). A finding Security Hub refuses (a
 * FailedFindings or UnprocessedFindings entry, or a failed call) is reported as a batch item failure
 * with every record of its incident, so Lambda retries from the earliest (and, past its retries,
 * sends it to the dead-letter queue): none is lost. Imports are idempotent (same Id, same UpdatedAt).
 * With member hubs, each account's incidents go to that account's hub; a member that cannot be
 * reached fails its own records only.
 */
export async function importIncidentFindings(
  event: DynamoDBStreamEvent,
  sink: SecurityHubSink,
): Promise<DynamoDBBatchResponse> {
  const byAccount = new Map<string, Map<string, Pending>>();
  const failed = new Set<DynamoDBRecord>();
  for (const record of event.Records) {
    const before = itemOf(record.dynamodb?.OldImage);
    const after = itemOf(record.dynamodb?.NewImage);
    let change = findingChangeOf(before, after, sink.target);
    if (!change) continue;
    // BatchImportFindings must be called by the account the finding is about (its AwsAccountId).
    const account = change.finding.AwsAccountId ?? '';
    if (account !== sink.target.account) {
      if (!sink.members) {
        sink.warn?.('incident of another account: not imported', { incidentId: change.incidentId });
        continue;
      }
      // Into that account's own default product, in the configured region.
      change = findingChangeOf(before, after, { ...sink.target, account }) ?? change;
    }
    const pending = byAccount.get(account) ?? new Map<string, Pending>();
    byAccount.set(account, pending);
    // The latest change of an incident wins; its earlier records retry with it.
    const earlier = pending.get(change.incidentId);
    const workflow = change.workflow ?? earlier?.workflow;
    pending.set(change.incidentId, {
      incidentId: change.incidentId,
      finding: change.finding,
      bytes: sizeOf(change.finding),
      ...(workflow !== undefined && { workflow }),
      records: [...(earlier?.records ?? []), record],
    });
  }
  const fail = (items: readonly Pending[]) => {
    for (const item of items) for (const record of item.records) failed.add(record);
  };

  for (const [account, pending] of byAccount) {
    const items = [...pending.values()];
    const own = account === sink.target.account;
    const hub = own ? sink.client : await memberHub(account, items, sink, fail);
    if (hub) await importInto(hub, items, sink, fail, own ? {} : { account });
  }

  // Lambda retries the shard from the lowest sequence number reported.
  return {
    batchItemFailures: event.Records.filter((record) => failed.has(record))
      .map((record) => record.dynamodb?.SequenceNumber)
      .filter((sequence): sequence is string => sequence !== undefined)
      .map((itemIdentifier) => ({ itemIdentifier })),
  };
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * The hub of a member account, or undefined when its incidents are not imported. An account that is
 * not an ACTIVE member is refused and its records are not failed: no retry makes it a member, and a
 * failed record would hold its shard for ten retries and then page, for every later change of an
 * incident of an account that left. A member whose role or listing fails fails only its own records.
 */
async function memberHub(
  account: string,
  items: readonly Pending[],
  sink: SecurityHubSink,
  fail: (items: readonly Pending[]) => void,
): Promise<Hub | undefined> {
  const members = sink.members;
  if (!members) return undefined;
  const incidents = items.map((item) => item.incidentId);
  let active: boolean;
  try {
    active = ACCOUNT_ID.test(account) && (await members.isActiveMember(account));
  } catch (error) {
    sink.warn?.('listing the organisation failed: findings not imported', {
      ...causeOf(error),
      account,
      incidents,
    });
    fail(items);
    return undefined;
  }
  if (!active) {
    sink.warn?.('incident of an account that is not an ACTIVE member of the organisation: not imported', {
      account,
      incidents,
    });
    sink.count?.(Metric.AccountRefused);
    return undefined;
  }
  try {
    return await members.hubIn(account);
  } catch (error) {
    sink.warn?.("member role unavailable: findings not imported in the member's Security Hub", {
      ...causeOf(error),
      account,
      incidents,
    });
    if (error instanceof MemberRoleUnavailable) sink.count?.(Metric.MemberRoleUnavailable);
    fail(items);
    return undefined;
  }
}

/** One account's findings into its hub: the imports, then the workflow moves of those imported. */
async function importInto(
  hub: Hub,
  items: readonly Pending[],
  sink: SecurityHubSink,
  fail: (items: readonly Pending[]) => void,
  where: { account?: string },
): Promise<void> {
  const importable = items.filter((item) => item.bytes <= FINDING_BYTES);
  const oversized = items.filter((item) => item.bytes > FINDING_BYTES);
  if (oversized.length > 0)
    sink.warn?.('finding over 240 KB: not imported', {
      ...where,
      incidents: oversized.map((item) => item.incidentId),
    });
  fail(oversized);

  const imported: Pending[] = [];
  for (const chunk of chunksOf(importable)) {
    await sink.pace();
    try {
      const result = await hub.send(
        new BatchImportFindingsCommand({ Findings: chunk.map((item) => item.finding) }),
      );
      const refused = new Set((result.FailedFindings ?? []).map((failure) => failure.Id));
      fail(chunk.filter((item) => refused.has(item.finding.Id)));
      imported.push(...chunk.filter((item) => !refused.has(item.finding.Id)));
    } catch (error) {
      // The cause only: names and ids, never a finding.
      sink.warn?.('BatchImportFindings failed: findings not imported', {
        ...causeOf(error),
        ...where,
        incidents: chunk.map((item) => item.incidentId),
      });
      fail(chunk);
    }
  }

  // One BatchUpdateFindings sets one workflow status for up to 100 findings.
  const byWorkflow = new Map<WorkflowStatus, Pending[]>();
  for (const item of imported) {
    if (item.workflow === undefined) continue;
    byWorkflow.set(item.workflow, [...(byWorkflow.get(item.workflow) ?? []), item]);
  }
  for (const [status, moving] of byWorkflow) {
    for (let start = 0; start < moving.length; start += FINDINGS_PER_CALL) {
      const chunk = moving.slice(start, start + FINDINGS_PER_CALL);
      await sink.pace();
      try {
        const result = await hub.send(
          new BatchUpdateFindingsCommand({
            FindingIdentifiers: chunk.map((item) => ({
              Id: item.finding.Id,
              ProductArn: item.finding.ProductArn,
            })),
            Workflow: { Status: status },
          }),
        );
        const unprocessed = new Set(
          (result.UnprocessedFindings ?? []).map((failure) => failure.FindingIdentifier?.Id),
        );
        fail(chunk.filter((item) => unprocessed.has(item.finding.Id)));
      } catch (error) {
        sink.warn?.('BatchUpdateFindings failed: workflow not moved', {
          ...causeOf(error),
          ...where,
          incidents: chunk.map((item) => item.incidentId),
        });
        fail(chunk);
      }
    }
  }
}

/** The session a member's imports run as: its CloudTrail shows the responder's importer (2 to 64 characters). */
export const IMPORT_SESSION = 'import-findings';

/** deployment: organisation - member hubs through the importer's member role (shared/organisation/accounts.ts). */
export function organisationHubs(
  target: FindingTarget,
  options: {
    stackName: string;
    sts: STSClient;
    organizations?: OrganizationsClient;
    managementAccountMember?: boolean;
  },
): MemberHubs {
  const accounts = new OrganisationAccounts({
    homeRegion: target.region,
    stackName: options.stackName,
    managementAccountMember: options.managementAccountMember === true,
    // Not a rule: the id names the importer's member role, <home stack>-member-security-hub-findings.
    ruleId: SECURITY_HUB_IMPORTER,
    sts: options.sts,
    ...(options.organizations && { organizations: options.organizations }),
  });
  return {
    isActiveMember: (accountId) => accounts.isActiveMember(accountId),
    hubIn: async (accountId) =>
      (await accounts.clientsIn(accountId, IMPORT_SESSION)).securityhub(target.region),
  };
}

/** The security-hub-findings function (functions/security-hub-findings.ts). */
export function securityHubFindingsHandler(
  env: NodeJS.ProcessEnv = process.env,
  aws?: Pick<AwsClients, 'securityhub'> & Partial<Pick<AwsClients, 'sts'>>,
) {
  const productArn = env.SECURITY_HUB_PRODUCT_ARN ?? '';
  const target = targetOfProductArn(productArn);
  if (!target)
    throw new ConfigurationError(
      `Invalid setting SECURITY_HUB_PRODUCT_ARN: not a default product ARN (arn:<partition>:securityhub:<region>:<account>:product/<account>/default): ${productArn}`,
      'SECURITY_HUB_PRODUCT_ARN',
    );
  const logger = new Logger({ serviceName: SERVICE_NAME });
  // The client retries adaptively (shared/aws/clients.ts); the pacer keeps under 10/s.
  const clients = aws ?? createAwsClients(target.region);
  const client = clients.securityhub(target.region);
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { function: SECURITY_HUB_IMPORTER },
  });
  let counted = 0;
  const sink: SecurityHubSink = {
    client,
    target,
    pace: pacer(REQUESTS_PER_SECOND),
    warn: (message, details) => logger.warn(message, details),
    ...(env.ORGANIZATION_ID && {
      members: organisationHubs(target, {
        stackName: stackNameOf(env),
        managementAccountMember: env.MANAGEMENT_ACCOUNT_MEMBER === 'true',
        sts: (clients.sts ?? createAwsClients(target.region).sts)(target.region),
      }),
      count: (metric: Metric) => {
        metrics.addMetric(metric, MetricUnit.Count, 1);
        counted += 1;
      },
    }),
  };
  return middy(async (event: DynamoDBStreamEvent) => {
    const response = await importIncidentFindings(event, sink);
    // Only what was counted: a single account's function publishes no metric, as before.
    if (counted > 0) {
      metrics.publishStoredMetrics();
      counted = 0;
    }
    if (response.batchItemFailures.length > 0)
      logger.error('findings not imported or not moved; Lambda retries them', {
        failed: response.batchItemFailures.length,
      });
    return response;
  }).use(injectLambdaContext(logger));
}

/** The home stack's name, which names the member roles: required in an organisation deployment. */
function stackNameOf(env: NodeJS.ProcessEnv): string {
  const stackName = env.STACK_NAME ?? '';
  if (!stackName)
    throw new ConfigurationError(
      'Invalid setting STACK_NAME: an organisation deployment names its member roles after the stack',
      'STACK_NAME',
    );
  return stackName;
}
