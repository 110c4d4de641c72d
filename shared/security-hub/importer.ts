import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  BatchUpdateFindingsCommand,
  type SecurityHubClient,
  type WorkflowStatus,
} from '@aws-sdk/client-securityhub';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type AwsClients, createAwsClients } from '../aws/clients';
import { ConfigurationError, errorMessage } from '../errors';
import { SERVICE_NAME } from '../metrics';
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

export interface SecurityHubSink {
  client: Pick<SecurityHubClient, 'send'>;
  target: FindingTarget;
  pace: Pacer;
  /** Told about what was not sent, by count and incident id only. */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

const causeOf = (error: unknown) => ({
  error: error instanceof Error ? error.name : typeof error,
  message: errorMessage(error),
});

/**
 * Imports each incident's finding into Security Hub from the table's stream, and moves its workflow
 * where the incident's new status asks (docs/security-hub.md). A finding Security Hub refuses (a
 * FailedFindings or UnprocessedFindings entry, or a failed call) is reported as a batch item failure
 * with every record of its incident, so Lambda retries from the earliest (and, past its retries,
 * sends it to the dead-letter queue): none is lost. Imports are idempotent (same Id, same UpdatedAt).
 */
export async function importIncidentFindings(
  event: DynamoDBStreamEvent,
  sink: SecurityHubSink,
): Promise<DynamoDBBatchResponse> {
  const pending = new Map<string, Pending>();
  const failed = new Set<DynamoDBRecord>();
  for (const record of event.Records) {
    const change = findingChangeOf(
      itemOf(record.dynamodb?.OldImage),
      itemOf(record.dynamodb?.NewImage),
      sink.target,
    );
    if (!change) continue;
    // BatchImportFindings must be called by the account the finding is about (its AwsAccountId).
    if (change.finding.AwsAccountId !== sink.target.account) {
      sink.warn?.('incident of another account: not imported', { incidentId: change.incidentId });
      continue;
    }
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

  const importable = [...pending.values()].filter((item) => item.bytes <= FINDING_BYTES);
  const oversized = [...pending.values()].filter((item) => item.bytes > FINDING_BYTES);
  if (oversized.length > 0)
    sink.warn?.('finding over 240 KB: not imported', { incidents: oversized.map((item) => item.incidentId) });
  fail(oversized);

  const imported: Pending[] = [];
  for (const chunk of chunksOf(importable)) {
    await sink.pace();
    try {
      const result = await sink.client.send(
        new BatchImportFindingsCommand({ Findings: chunk.map((item) => item.finding) }),
      );
      const refused = new Set((result.FailedFindings ?? []).map((failure) => failure.Id));
      fail(chunk.filter((item) => refused.has(item.finding.Id)));
      imported.push(...chunk.filter((item) => !refused.has(item.finding.Id)));
    } catch (error) {
      // The cause only: names and ids, never a finding.
      sink.warn?.('BatchImportFindings failed: findings not imported', {
        ...causeOf(error),
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
  for (const [status, items] of byWorkflow) {
    for (let start = 0; start < items.length; start += FINDINGS_PER_CALL) {
      const chunk = items.slice(start, start + FINDINGS_PER_CALL);
      await sink.pace();
      try {
        const result = await sink.client.send(
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
          incidents: chunk.map((item) => item.incidentId),
        });
        fail(chunk);
      }
    }
  }

  // Lambda retries the shard from the lowest sequence number reported.
  return {
    batchItemFailures: event.Records.filter((record) => failed.has(record))
      .map((record) => record.dynamodb?.SequenceNumber)
      .filter((sequence): sequence is string => sequence !== undefined)
      .map((itemIdentifier) => ({ itemIdentifier })),
  };
}

/** The security-hub-findings function (functions/security-hub-findings.ts). */
export function securityHubFindingsHandler(
  env: NodeJS.ProcessEnv = process.env,
  aws?: Pick<AwsClients, 'securityhub'>,
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
  const client = (aws ?? createAwsClients(target.region)).securityhub(target.region);
  const sink: SecurityHubSink = {
    client,
    target,
    pace: pacer(REQUESTS_PER_SECOND),
    warn: (message, details) => logger.warn(message, details),
  };
  return middy(async (event: DynamoDBStreamEvent) => {
    const response = await importIncidentFindings(event, sink);
    if (response.batchItemFailures.length > 0)
      logger.error('findings not imported or not moved; Lambda retries them', {
        failed: response.batchItemFailures.length,
      });
    return response;
  }).use(injectLambdaContext(logger));
}
