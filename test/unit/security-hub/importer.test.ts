import {
  BatchImportFindingsCommand,
  BatchUpdateFindingsCommand,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Incident } from '../../../shared/model';
import { findingIdOf } from '../../../shared/security-hub/asff';
import {
  CALL_BYTES,
  chunksOf,
  importIncidentFindings,
  pacer,
  type SecurityHubSink,
  securityHubFindingsHandler,
} from '../../../shared/security-hub/importer';
import { asffRequired } from '../../support/asff-schema';
import { anIncident } from '../../support/incident';

const PRODUCT_ARN = 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default';
const item = (incident: Incident) => ({ pk: `INCIDENT#${incident.incidentId}`, sk: 'INCIDENT', ...incident });
const streamRecord = (sequence: number, before?: Incident, after?: Incident): DynamoDBRecord => ({
  eventName: before ? 'MODIFY' : 'INSERT',
  dynamodb: {
    SequenceNumber: String(sequence),
    ...(before && { OldImage: marshall(item(before), { removeUndefinedValues: true }) as never }),
    ...(after && { NewImage: marshall(item(after), { removeUndefinedValues: true }) as never }),
  },
});
const incidentNo = (n: number, overrides: Partial<Incident> = {}) =>
  anIncident({
    incidentId: `inc-20261123T101500-${String(n).padStart(8, '0')}`,
    status: 'open',
    ...overrides,
  });
const openings = (count: number): DynamoDBStreamEvent => ({
  Records: Array.from({ length: count }, (_, n) => streamRecord(n + 1, undefined, incidentNo(n))),
});
const failedSequences = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

describe('importing incidents into Security Hub from the table stream', () => {
  const hub = mockClient(SecurityHubClient);
  afterAll(() => hub.restore());
  const paced: number[] = [];
  const sink: SecurityHubSink = {
    client: new SecurityHubClient({ region: 'us-east-1' }),
    target: { partition: 'aws', region: 'us-east-1', account: '111122223333' },
    pace: async () => {
      paced.push(paced.length);
    },
  };
  beforeEach(() => {
    hub.reset();
    paced.length = 0;
  });

  it('imports at most 100 findings a call, each a valid ASFF finding, pacing every request', async () => {
    // Prepare
    hub.on(BatchImportFindingsCommand).callsFake((input: { Findings: unknown[] }) => ({
      FailedCount: 0,
      SuccessCount: input.Findings.length,
      FailedFindings: [],
    }));
    // Act
    const response = await importIncidentFindings(openings(250), sink);
    // Assess
    const calls = hub.commandCalls(BatchImportFindingsCommand);
    expect(calls.map((call) => call.args[0].input.Findings?.length)).toEqual([100, 100, 50]);
    for (const finding of calls.flatMap((call) => call.args[0].input.Findings ?? []))
      expect(asffRequired.safeParse(finding).error?.issues ?? []).toEqual([]);
    expect(paced).toHaveLength(3);
    expect(response.batchItemFailures).toEqual([]);
    expect(hub).not.toHaveReceivedCommand(BatchUpdateFindingsCommand);
  });

  it('reports the records of findings Security Hub refused, so Lambda retries them, and only those', async () => {
    // Prepare
    hub.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      SuccessCount: 11,
      FailedFindings: [
        { Id: findingIdOf(incidentNo(4).incidentId), ErrorCode: 'Throttled', ErrorMessage: 'x' },
      ],
    });
    // Act
    const response = await importIncidentFindings(openings(12), sink);
    // Assess
    expect(failedSequences(response)).toEqual(['5']);
  });

  it('reports every record of a call that failed, and carries on with the next call', async () => {
    // Prepare
    hub
      .on(BatchImportFindingsCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ FailedCount: 0, SuccessCount: 20, FailedFindings: [] });
    // Act
    const response = await importIncidentFindings(openings(120), sink);
    // Assess
    expect(hub).toHaveReceivedCommandTimes(BatchImportFindingsCommand, 2);
    expect(failedSequences(response)).toEqual(Array.from({ length: 100 }, (_, n) => String(n + 1)));
  });

  it("logs why an import or a workflow move failed: the error's name and message, never a finding", async () => {
    // Prepare
    const warned: [string, Record<string, unknown>][] = [];
    const logging: SecurityHubSink = { ...sink, warn: (message, details) => warned.push([message, details]) };
    const [a, b] = [incidentNo(1), incidentNo(2)];
    hub
      .on(BatchImportFindingsCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ FailedCount: 0, SuccessCount: 1, FailedFindings: [] });
    hub
      .on(BatchUpdateFindingsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    // Act
    await importIncidentFindings({ Records: [streamRecord(1, undefined, a)] }, logging);
    await importIncidentFindings({ Records: [streamRecord(2, b, { ...b, status: 'resolved' })] }, logging);
    // Assess
    expect(warned).toEqual([
      [
        'BatchImportFindings failed: findings not imported',
        {
          error: 'ThrottlingException',
          reason: 'ThrottlingException: Rate exceeded',
          incidents: [a.incidentId],
        },
      ],
      [
        'BatchUpdateFindings failed: workflow not moved',
        {
          error: 'AccessDeniedException',
          reason: 'AccessDeniedException: not authorized',
          incidents: [b.incidentId],
        },
      ],
    ]);
    expect(JSON.stringify(warned)).not.toContain(a.resourceId);
  });

  it('imports once per incident per batch (its latest change) and retries all its records if refused', async () => {
    // Prepare
    const opened = incidentNo(1);
    const remediating = { ...opened, status: 'remediating' as const, updatedAt: '2026-11-23T10:15:03.000Z' };
    const remediated = { ...opened, status: 'remediated' as const, updatedAt: '2026-11-23T10:15:04.000Z' };
    hub.on(BatchImportFindingsCommand).resolves({
      FailedCount: 1,
      SuccessCount: 0,
      FailedFindings: [{ Id: findingIdOf(opened.incidentId), ErrorCode: 'InvalidInput', ErrorMessage: 'x' }],
    });
    // Act
    const response = await importIncidentFindings(
      {
        Records: [
          streamRecord(1, undefined, opened),
          streamRecord(2, opened, remediating),
          streamRecord(3, remediating, remediated),
        ],
      },
      sink,
    );
    // Assess
    const findings = hub
      .commandCalls(BatchImportFindingsCommand)
      .flatMap((call) => call.args[0].input.Findings);
    expect(findings.map((finding) => [finding?.Compliance?.Status, finding?.RecordState])).toEqual([
      ['PASSED', 'ARCHIVED'],
    ]);
    expect(failedSequences(response)).toEqual(['1', '2', '3']);
    // The workflow of a finding not imported is not moved either.
    expect(hub).not.toHaveReceivedCommand(BatchUpdateFindingsCommand);
  });

  it('moves the workflow with BatchUpdateFindings after the import, one call per workflow status', async () => {
    // Prepare
    const [a, b, c] = [incidentNo(1), incidentNo(2), incidentNo(3)];
    hub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 3, FailedFindings: [] });
    hub.on(BatchUpdateFindingsCommand).resolves({ ProcessedFindings: [], UnprocessedFindings: [] });
    // Act
    const response = await importIncidentFindings(
      {
        Records: [
          streamRecord(1, a, { ...a, status: 'remediated' }),
          streamRecord(2, b, { ...b, status: 'exempted' }),
          streamRecord(3, c, { ...c, status: 'resolved' }),
        ],
      },
      sink,
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const identifier = (incident: Incident) => ({
      Id: findingIdOf(incident.incidentId),
      ProductArn: PRODUCT_ARN,
    });
    expect(hub).toHaveReceivedNthCommandWith(2, BatchUpdateFindingsCommand, {
      FindingIdentifiers: [identifier(a), identifier(c)],
      Workflow: { Status: 'RESOLVED' },
    });
    expect(hub).toHaveReceivedNthCommandWith(3, BatchUpdateFindingsCommand, {
      FindingIdentifiers: [identifier(b)],
      // An exemption notifies: the role may never suppress a finding.
      Workflow: { Status: 'NOTIFIED' },
    });
    // Only the workflow: fields people own in Security Hub are never sent.
    for (const call of hub.commandCalls(BatchUpdateFindingsCommand))
      expect(Object.keys(call.args[0].input).sort()).toEqual(['FindingIdentifiers', 'Workflow']);
    expect(paced).toHaveLength(3);
  });

  it('reports the records of findings whose workflow did not move, so the import and the move are retried', async () => {
    // Prepare
    const [a, b] = [incidentNo(1), incidentNo(2)];
    hub.on(BatchImportFindingsCommand).resolves({ FailedCount: 0, SuccessCount: 2, FailedFindings: [] });
    hub.on(BatchUpdateFindingsCommand).resolves({
      ProcessedFindings: [],
      UnprocessedFindings: [
        {
          FindingIdentifier: { Id: findingIdOf(b.incidentId), ProductArn: PRODUCT_ARN },
          ErrorCode: 'FindingNotFound',
          ErrorMessage: 'not yet',
        },
      ],
    });
    // Act
    const response = await importIncidentFindings(
      {
        Records: [
          streamRecord(7, a, { ...a, status: 'undone' }),
          streamRecord(8, b, { ...b, status: 'undone' }),
        ],
      },
      sink,
    );
    // Assess
    expect(hub).toHaveReceivedCommandWith(BatchUpdateFindingsCommand, { Workflow: { Status: 'NOTIFIED' } });
    expect(failedSequences(response)).toEqual(['8']);
  });

  it("imports nothing for another account's incident (BatchImportFindings takes only the caller's)", async () => {
    // Prepare
    const warned: string[] = [];
    // Act
    const response = await importIncidentFindings(
      { Records: [streamRecord(1, undefined, incidentNo(1, { account: '444455556666' }))] },
      { ...sink, warn: (message) => warned.push(message) },
    );
    // Assess
    expect(hub).not.toHaveReceivedCommand(BatchImportFindingsCommand);
    expect(response.batchItemFailures).toEqual([]);
    expect(warned).toHaveLength(1);
  });
});

describe('staying within Security Hub limits', () => {
  it('splits calls at 100 findings and at 6 MB', () => {
    // Prepare
    const small = Array.from({ length: 150 }, () => ({ bytes: 1000 }));
    const large = Array.from({ length: 30 }, () => ({ bytes: 240 * 1024 }));
    // Act
    const bySize = chunksOf(large);
    // Assess
    expect(chunksOf(small).map((chunk) => chunk.length)).toEqual([100, 50]);
    expect(bySize.map((chunk) => chunk.length)).toEqual([25, 5]);
    for (const chunk of bySize)
      expect(chunk.reduce((sum, item) => sum + item.bytes, 0)).toBeLessThanOrEqual(CALL_BYTES);
  });

  it('paces requests at most 10 a second: waits out what is left of the 100 ms gap, and no more', async () => {
    // Prepare: a clock that moves only when told or waited on
    let now = 1_000;
    const waits: number[] = [];
    const pace = pacer(
      10,
      () => now,
      async (ms) => {
        waits.push(ms);
        now += ms;
      },
    );
    // Act
    await pace();
    now += 30;
    await pace();
    await pace();
    now += 500;
    await pace();
    // Assess
    expect(waits).toEqual([70, 100]);
  });

  it("builds its Security Hub client through the shared clients, for the product ARN's region", () => {
    // Prepare
    const regions: string[] = [];
    const aws = {
      securityhub: (region: string) => {
        regions.push(region);
        return new SecurityHubClient({ region });
      },
    };
    // Act
    securityHubFindingsHandler(
      { SECURITY_HUB_PRODUCT_ARN: 'arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default' },
      aws,
    );
    // Assess
    expect(regions).toEqual(['eu-west-1']);
  });

  it('refuses to start without a default product ARN of its account', () => {
    // Act / Assess
    expect(() =>
      securityHubFindingsHandler({
        SECURITY_HUB_PRODUCT_ARN: 'arn:aws:securityhub:us-east-1::product/aws/inspector',
      }),
    ).toThrow(/SECURITY_HUB_PRODUCT_ARN/);
    expect(() => securityHubFindingsHandler({})).toThrow(/SECURITY_HUB_PRODUCT_ARN/);
  });
});
