import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { provisionLocalStack } from '../../scripts/lib/local-stack';
import { BlastRadiusGuard } from '../../shared/pipeline/guards';
import { resetAccount } from '../support/local-responder';

describe('the blast-radius guard (moto DynamoDB)', () => {
  let guardAt: (time: string) => BlastRadiusGuard;

  beforeEach(async () => {
    await resetAccount();
    const stack = await provisionLocalStack();
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: stack.region }));
    guardAt = (time) => new BlastRadiusGuard(client, stack.tableName, 2, 60, () => new Date(time));
  });

  it('allows the threshold, trips once on the next remediation and stays tripped', async () => {
    // Act
    const decisions = [];
    for (const minute of ['10', '11', '12', '13']) {
      decisions.push(await guardAt(`2026-11-24T09:${minute}:00Z`).acquire());
    }
    const nextDay = await guardAt('2026-11-25T09:00:00Z').acquire();
    // Assess
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, false, false]);
    expect(decisions[2]).toMatchObject({ justTripped: true });
    expect(decisions[3]).toMatchObject({ justTripped: false });
    expect(nextDay).toMatchObject({ allowed: false, justTripped: false });
  });

  it('counts remediations a person ordered past it (ssh lockdown --emergency) without tripping; the next automated one trips it', async () => {
    // Act: three counted past a threshold of two, then the responder's own
    for (const minute of ['10', '11', '12']) await guardAt(`2026-11-24T09:${minute}:00Z`).countPastLimit();
    const counted = await guardAt('2026-11-24T09:13:00Z').status();
    const next = await guardAt('2026-11-24T09:14:00Z').acquire();
    // Assess
    expect(counted).toMatchObject({ tripped: false, counted: 3 });
    expect(next).toMatchObject({ allowed: false, justTripped: true });
  });

  it('counts a burst that crosses a window boundary as one burst', async () => {
    // Act: two just before the hour, the third just after
    const before = [
      await guardAt('2026-11-23T23:59:50Z').acquire(),
      await guardAt('2026-11-23T23:59:55Z').acquire(),
    ];
    const after = await guardAt('2026-11-24T00:00:05Z').acquire();
    // Assess
    expect(before.every((decision) => decision.allowed)).toBe(true);
    expect(after).toMatchObject({ allowed: false, justTripped: true });
  });

  it('allows remediations again once the earlier ones have slid out of the window', async () => {
    // Act
    await guardAt('2026-11-24T09:00:00Z').acquire();
    await guardAt('2026-11-24T09:01:00Z').acquire();
    const laterOn = await guardAt('2026-11-24T10:59:00Z').acquire();
    // Assess
    expect(laterOn).toEqual({ allowed: true });
  });

  it('gives one trip among concurrent remediations past the threshold', async () => {
    // Act
    const decisions = await Promise.all(
      Array.from({ length: 10 }, () => guardAt('2026-11-24T09:30:00Z').acquire()),
    );
    // Assess
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(2);
    expect(decisions.filter((decision) => !decision.allowed && decision.justTripped)).toHaveLength(1);
  });
});
