import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { provisionLocalStack } from '../../scripts/lib/local-stack';
import { BlastRadiusGuard } from '../../shared/pipeline/guards';
import { resetAccount } from '../support/local-responder';

/** The drift of security group n. */
const drift = (n: number) => ({
  ruleId: 'ssh-open-to-world',
  resourceArn: `arn:aws:ec2:us-east-1:123456789012:security-group/sg-${String(n).padStart(8, '0')}`,
});

describe('the blast-radius guard (moto DynamoDB)', () => {
  let guardAt: (time: string) => BlastRadiusGuard;
  let guardItems: () => Promise<unknown[]>;

  beforeEach(async () => {
    await resetAccount();
    const stack = await provisionLocalStack();
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: stack.region }));
    guardItems = async () =>
      (
        await client.send(
          new ScanCommand({
            TableName: stack.tableName,
            FilterExpression: 'pk = :guard',
            ExpressionAttributeValues: { ':guard': 'GUARD' },
          }),
        )
      ).Items ?? [];
    guardAt = (time) => new BlastRadiusGuard(client, stack.tableName, 2, 60, () => new Date(time));
  });

  it('allows the threshold, trips once on the next remediation and stays tripped', async () => {
    // Act
    const decisions = [];
    for (const minute of [10, 11, 12, 13]) {
      decisions.push(await guardAt(`2026-11-24T09:${minute}:00Z`).acquire(drift(minute)));
    }
    const nextDay = await guardAt('2026-11-25T09:00:00Z').acquire(drift(1));
    // Assess
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, false, false]);
    expect(decisions[2]).toMatchObject({ justTripped: true });
    expect(decisions[3]).toMatchObject({ justTripped: false });
    expect(nextDay).toMatchObject({ allowed: false, justTripped: false });
  });

  it('counts remediations a person ordered past it (ssh lockdown --emergency) without tripping; the next automated one trips it', async () => {
    // Act: three counted past a threshold of two, then the responder's own
    for (const minute of [10, 11, 12])
      await guardAt(`2026-11-24T09:${minute}:00Z`).countPastLimit(drift(minute));
    const counted = await guardAt('2026-11-24T09:13:00Z').status();
    const next = await guardAt('2026-11-24T09:14:00Z').acquire(drift(14));
    // Assess
    expect(counted).toMatchObject({ tripped: false, counted: 3 });
    expect(next).toMatchObject({ allowed: false, justTripped: true });
  });

  it('counts a burst that crosses a window boundary as one burst', async () => {
    // Act: two just before the hour, the third just after
    const before = [
      await guardAt('2026-11-23T23:59:50Z').acquire(drift(1)),
      await guardAt('2026-11-23T23:59:55Z').acquire(drift(2)),
    ];
    const after = await guardAt('2026-11-24T00:00:05Z').acquire(drift(3));
    // Assess
    expect(before.every((decision) => decision.allowed)).toBe(true);
    expect(after).toMatchObject({ allowed: false, justTripped: true });
  });

  it('allows remediations again once the earlier ones have slid out of the window', async () => {
    // Act
    await guardAt('2026-11-24T09:00:00Z').acquire(drift(1));
    await guardAt('2026-11-24T09:01:00Z').acquire(drift(2));
    const laterOn = await guardAt('2026-11-24T10:59:00Z').acquire(drift(3));
    // Assess
    expect(laterOn).toEqual({ allowed: true });
  });

  it('gives one trip among concurrent remediations past the threshold', async () => {
    // Act
    const decisions = await Promise.all(
      Array.from({ length: 10 }, (_, n) => guardAt('2026-11-24T09:30:00Z').acquire(drift(n))),
    );
    // Assess
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(2);
    expect(decisions.filter((decision) => !decision.allowed && decision.justTripped)).toHaveLength(1);
  });

  it('gives the deliveries of one drift racing to open its incident one slot between them', async () => {
    // Act: twenty deliveries of one drift at once, then two other drifts
    const racing = await Promise.all(
      Array.from({ length: 20 }, () => guardAt('2026-11-24T09:30:00Z').acquire(drift(1))),
    );
    const second = await guardAt('2026-11-24T09:31:00Z').acquire(drift(2));
    const third = await guardAt('2026-11-24T09:32:00Z').acquire(drift(3));
    // Assess: all allowed and counted once, so the second drift fits and the third trips it
    expect(racing.every((decision) => decision.allowed)).toBe(true);
    expect(second).toEqual({ allowed: true });
    expect(third).toMatchObject({ allowed: false, justTripped: true });
  });

  it('cannot be tripped by changing one resource back again and again (the insider silencing it)', async () => {
    // Act: one security group opened and remediated every minute for half an hour
    const flaps = [];
    for (let minute = 10; minute < 40; minute++)
      flaps.push(await guardAt(`2026-11-24T09:${minute}:00Z`).acquire(drift(7)));
    const status = await guardAt('2026-11-24T09:40:00Z').status();
    // Assess: every remediation went ahead, and the window holds one
    expect(flaps.every((decision) => decision.allowed)).toBe(true);
    expect(status).toMatchObject({ tripped: false, counted: 1 });
  });

  it('keeps a hash of each drift it counted, never the resource ARN', async () => {
    // Act
    await guardAt('2026-11-24T09:10:00Z').acquire(drift(5));
    // Assess
    const stored = JSON.stringify(await guardItems(), (_key, value) =>
      value instanceof Set ? [...value] : value,
    );
    expect(stored).toContain('"drifts":["');
    expect(stored).not.toContain('sg-');
  });
});
