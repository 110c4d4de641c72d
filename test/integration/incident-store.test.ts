import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { provisionLocalStack } from '../../scripts/lib/local-stack';
import { DynamoDbIncidentStore } from '../../shared/pipeline/incident-store';
import { moveIncident } from '../../shared/pipeline/lifecycle';
import { anIncident } from '../support/incident';
import { resetAccount } from '../support/local-responder';

describe('the DynamoDB incident store (moto)', () => {
  let store: DynamoDbIncidentStore;
  const now = new Date('2026-11-23T12:00:00Z');

  beforeEach(async () => {
    await resetAccount();
    const stack = await provisionLocalStack();
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: stack.region }), {
      marshallOptions: { removeUndefinedValues: true },
    });
    store = new DynamoDbIncidentStore(client, stack.tableName, 2192, () => now);
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
});
