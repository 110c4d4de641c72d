import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { incidentEventOf } from '../../../shared/events/incident-event';
import { publishIncidentEvents } from '../../../shared/events/publisher';
import type { Incident } from '../../../shared/model';
import { anIncident } from '../../support/incident';

const item = (incident: Incident) => ({ pk: `INCIDENT#${incident.incidentId}`, sk: 'INCIDENT', ...incident });
const streamRecord = (sequence: number, before?: object, after?: object): DynamoDBRecord => ({
  eventName: before ? 'MODIFY' : 'INSERT',
  dynamodb: {
    SequenceNumber: String(sequence),
    ...(before && { OldImage: marshall(before, { removeUndefinedValues: true }) as never }),
    ...(after && { NewImage: marshall(after, { removeUndefinedValues: true }) as never }),
  },
});

describe('incident events', () => {
  const opened = anIncident({
    status: 'open',
    evidence: { tagValue: 'patient-42' },
    actor: { arn: 'arn:aws:iam::111122223333:user/dev-alice', sourceIp: '198.51.100.23' },
  });

  it('makes one event when an incident opens and one when its status moves, names only', () => {
    // Act
    const open = incidentEventOf(undefined, item(opened));
    const moved = incidentEventOf(item(opened), item({ ...opened, status: 'remediated' }));
    // Assess
    expect(open).toMatchObject({
      schemaVersion: 1,
      change: 'opened',
      status: 'open',
      incidentId: opened.incidentId,
      ruleId: opened.ruleId,
      actorArn: 'arn:aws:iam::111122223333:user/dev-alice',
    });
    expect(open).not.toHaveProperty('previousStatus');
    expect(moved).toMatchObject({ change: 'status', status: 'remediated', previousStatus: 'open' });
    expect(JSON.stringify([open, moved])).not.toMatch(/patient-42|198\.51\.100\.23/);
  });

  it('makes none for a rewrite without a change of status, or for an item that is not an incident', () => {
    // Act
    const rewritten = incidentEventOf(
      item(opened),
      item({ ...opened, updatedAt: '2026-11-23T11:00:00.000Z' }),
    );
    const lock = incidentEventOf(undefined, { pk: 'DRIFT#rule', status: 'open' } as never);
    const removed = incidentEventOf(item(opened), undefined);
    // Assess
    expect([rewritten, lock, removed]).toStrictEqual([undefined, undefined, undefined]);
  });
});

describe('publishing incident events from the table stream', () => {
  const events = mockClient(EventBridgeClient);
  beforeEach(() => events.reset());
  afterAll(() => events.restore());
  const bus = {
    name: 'compliance-responder-dev-incidents',
    client: new EventBridgeClient({ region: 'us-east-1' }),
  };
  const records = (count: number): DynamoDBStreamEvent => ({
    Records: Array.from({ length: count }, (_, n) =>
      streamRecord(
        n + 1,
        undefined,
        item(anIncident({ incidentId: `inc-20261123T101500-0000000${n % 10}`, status: 'open' })),
      ),
    ),
  });

  it('sends at most ten entries a call, to the bus, with the documented source and detail type', async () => {
    // Prepare
    events
      .on(PutEventsCommand)
      .callsFake(({ Entries }) => ({ Entries: Entries.map(() => ({ EventId: 'e' })) }));
    // Act
    const response = await publishIncidentEvents(records(12), bus);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    const first = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries ?? [];
    expect(first).toHaveLength(10);
    expect(first[0]).toMatchObject({
      EventBusName: bus.name,
      Source: 'compliance-responder',
      DetailType: 'Incident Status Change',
    });
  });

  it('reports a refused entry and a failed call as batch item failures, so Lambda retries them', async () => {
    // Prepare: the second entry of the first call refused, the second call fails outright
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure' }, ...Array(8).fill({ EventId: 'x' })],
      })
      .rejectsOnce(new Error('ThrottlingException'));
    // Act
    const response = await publishIncidentEvents(records(12), bus);
    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['2', '11', '12']);
  });
});
