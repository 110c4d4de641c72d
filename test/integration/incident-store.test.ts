import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { provisionLocalStack } from '../../scripts/lib/local-stack';
import { DynamoDbIncidentStore, MAX_TRANSITIONS } from '../../shared/pipeline/incident-store';
import { moveIncident } from '../../shared/pipeline/lifecycle';
import { anIncident } from '../support/incident';
import { resetAccount } from '../support/local-responder';

describe('the DynamoDB incident store (moto)', () => {
  let store: DynamoDbIncidentStore;
  let client: DynamoDBDocumentClient;
  let tableName: string;
  let now = new Date('2026-11-23T12:00:00Z');

  beforeEach(async () => {
    await resetAccount();
    const stack = await provisionLocalStack();
    now = new Date('2026-11-23T12:00:00Z');
    client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: stack.region }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    tableName = stack.tableName;
    store = new DynamoDbIncidentStore(
      client,
      tableName,
      2192,
      () => now,
      'responder-ebs-encryption-by-default',
    );
  });

  const open = (id: string, overrides: Parameters<typeof anIncident>[0] = {}) =>
    store.open(
      anIncident({
        incidentId: id,
        resourceArn: `arn:aws:ec2:us-east-1:111122223333:volume/${id}`,
        ...overrides,
      }),
      `delivery-${id}`,
    );

  it('collapses a second delivery and a second open drift into the first incident', async () => {
    // Prepare
    await open('inc-a');
    // Act
    const redelivered = await store.open(
      anIncident({ incidentId: 'inc-b', resourceArn: 'arn:other' }),
      'delivery-inc-a',
    );
    const sameDrift = await store.open(
      anIncident({ incidentId: 'inc-c', resourceArn: 'arn:aws:ec2:us-east-1:111122223333:volume/inc-a' }),
      'delivery-new',
    );
    // Assess
    expect(redelivered).toEqual({
      opened: false,
      existingIncidentId: 'inc-a',
      collapsedOn: 'duplicate-delivery',
    });
    expect(sameDrift).toEqual({ opened: false, existingIncidentId: 'inc-a', collapsedOn: 'open-drift' });
    expect(await store.get('inc-b')).toBeUndefined();
    expect(await store.get('inc-c')).toBeUndefined();
  });

  it('lists incidents newest first by status, by rule, and since a time', async () => {
    // Prepare
    await open('inc-1', { status: 'remediated', detectedAt: '2026-11-20T10:00:00.000Z' });
    await open('inc-2', {
      status: 'open',
      detectedAt: '2026-11-21T10:00:00.000Z',
      ruleId: 'ebs-volume-encrypted',
    });
    await open('inc-3', { status: 'failed', detectedAt: '2026-10-02T10:00:00.000Z' });
    // Act
    const all = await store.list({ since: '2026-10-01T00:00:00.000Z' });
    const recent = await store.list({ since: '2026-11-01T00:00:00.000Z' });
    const open2 = await store.list({ status: 'open', since: '2026-10-01T00:00:00.000Z' });
    const byRule = await store.list({ ruleId: 'ebs-volume-encrypted', since: '2026-10-01T00:00:00.000Z' });
    // Assess
    expect(all.map((incident) => incident.incidentId)).toEqual(['inc-2', 'inc-1', 'inc-3']);
    expect(recent.map((incident) => incident.incidentId)).toEqual(['inc-2', 'inc-1']);
    expect(open2.map((incident) => incident.incidentId)).toEqual(['inc-2']);
    expect(byRule.map((incident) => incident.incidentId)).toEqual(['inc-2']);
    expect(all[0]).not.toHaveProperty('pk');
  });

  it('lets exactly one of two resumers claim an incident', async () => {
    // Prepare
    await open('inc-r', { status: 'remediating' });
    const seen = (await store.get('inc-r'))?.updatedAt ?? '';
    // Act
    const claims = await Promise.all([store.claim('inc-r', seen), store.claim('inc-r', seen)]);
    // Assess
    expect(claims.sort()).toEqual([false, true]);
  });

  it("lets only one of two writers that read the same status move it; the other reads the winner's", async () => {
    // Prepare: a resumer and a check both read the incident `remediating`
    await open('inc-w', { status: 'remediating' });
    const read = { incidentId: 'inc-w', status: 'remediating' as const };
    // Act
    const [failed, remediated] = await Promise.all([
      moveIncident(store, read, 'failed', 'stuck'),
      moveIncident(store, read, 'remediated'),
    ]);
    // Assess: exactly one moved it; the loser got back what the winner left, which stands
    const winner = failed.moved ? 'failed' : 'remediated';
    expect([failed.moved, remediated.moved].sort()).toEqual([false, true]);
    expect([failed, remediated].find((move) => !move.moved)).toMatchObject({ current: { status: winner } });
    expect(await store.get('inc-w')).toMatchObject({ status: winner });
  });

  it('never moves a final status back to where a stale reader saw it', async () => {
    // Prepare: resolved by a check, while a slower writer still holds it as `open`
    await open('inc-f', { status: 'open' });
    await moveIncident(store, { incidentId: 'inc-f', status: 'open' }, 'resolved', 'compliant again');
    // Act
    const stale = await moveIncident(store, { incidentId: 'inc-f', status: 'open' }, 'remediating');
    // Assess
    expect(stale).toMatchObject({ moved: false, current: { status: 'resolved' } });
    expect(await store.get('inc-f')).toMatchObject({ status: 'resolved', statusReason: 'compliant again' });
  });

  it('never releases a drift lock that a newer incident holds', async () => {
    // Prepare
    const arn = 'arn:aws:ec2:us-east-1:111122223333:volume/inc-x';
    await open('inc-x');
    // Act
    await store.releaseDrift('ebs-encryption-by-default', arn, 'inc-someone-else');
    // Assess
    expect(await store.openDrift('ebs-encryption-by-default', arn)).toBe('inc-x');
    await store.releaseDrift('ebs-encryption-by-default', arn, 'inc-x');
    expect(await store.openDrift('ebs-encryption-by-default', arn)).toBeUndefined();
  });

  it('records each status change on the incident: from, to, when, by whom and why', async () => {
    // Prepare
    await open('inc-h', { status: 'open', detectedAt: '2026-11-23T11:59:58.000Z' });
    const person = new DynamoDbIncidentStore(
      client,
      tableName,
      2192,
      () => now,
      async () => 'arn:aws:iam::111122223333:user/oncall-bob',
    );
    // Act: a move to the same status only rewrites the reason, and is not a change of status
    await moveIncident(store, { incidentId: 'inc-h', status: 'open' }, 'remediating');
    await moveIncident(
      store,
      { incidentId: 'inc-h', status: 'remediating' },
      'remediating',
      'waiting for AWS',
    );
    now = new Date('2026-11-23T12:00:05Z');
    await moveIncident(store, { incidentId: 'inc-h', status: 'remediating' }, 'remediated');
    now = new Date('2026-11-24T09:00:00Z');
    await moveIncident(person, { incidentId: 'inc-h', status: 'remediated' }, 'undone', 'CHG-12 rollback');
    // Assess
    expect((await store.get('inc-h'))?.transitions).toEqual([
      { to: 'open', at: '2026-11-23T11:59:58.000Z', by: 'responder-ebs-encryption-by-default' },
      {
        from: 'open',
        to: 'remediating',
        at: '2026-11-23T12:00:00.000Z',
        by: 'responder-ebs-encryption-by-default',
      },
      {
        from: 'remediating',
        to: 'remediated',
        at: '2026-11-23T12:00:05.000Z',
        by: 'responder-ebs-encryption-by-default',
      },
      {
        from: 'remediated',
        to: 'undone',
        at: '2026-11-24T09:00:00.000Z',
        by: 'arn:aws:iam::111122223333:user/oncall-bob',
        reason: 'CHG-12 rollback',
      },
    ]);
  });

  it('starts the history of an incident recorded before it, and still refuses a stale writer', async () => {
    // Prepare: an item as the store wrote it before transitions existed
    await open('inc-old', { status: 'failed' });
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'INCIDENT#inc-old', sk: 'INCIDENT' },
        UpdateExpression: 'REMOVE transitions',
      }),
    );
    // Act
    const stale = await moveIncident(store, { incidentId: 'inc-old', status: 'open' }, 'resolved');
    const moved = await moveIncident(
      store,
      { incidentId: 'inc-old', status: 'failed' },
      'resolved',
      'compliant',
    );
    // Assess: no opening entry, so a reader knows the history starts late
    expect(stale.moved).toBe(false);
    expect(moved.moved).toBe(true);
    expect((await store.get('inc-old'))?.transitions).toEqual([
      {
        from: 'failed',
        to: 'resolved',
        at: '2026-11-23T12:00:00.000Z',
        by: 'responder-ebs-encryption-by-default',
        reason: 'compliant',
      },
    ]);
  });

  it('keeps at most MAX_TRANSITIONS entries and marks when the history stopped, still changing the status', async () => {
    // Prepare: a full history
    const full = Array.from({ length: MAX_TRANSITIONS }, (_, index) => ({
      from: 'open',
      to: 'open',
      at: new Date(Date.parse('2026-11-01T00:00:00Z') + index * 1000).toISOString(),
      by: 'test',
    }));
    await open('inc-full', { status: 'open', transitions: full as never });
    // Act
    const moved = await moveIncident(
      store,
      { incidentId: 'inc-full', status: 'open' },
      'resolved',
      'compliant',
    );
    // Assess
    const stored = await store.get('inc-full');
    expect(moved.moved).toBe(true);
    expect(stored?.status).toBe('resolved');
    expect(stored?.transitions).toHaveLength(MAX_TRANSITIONS);
    expect(stored?.transitionsTruncatedAt).toBe('2026-11-23T12:00:00.000Z');
  });
});
