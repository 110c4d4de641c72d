import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import {
  DynamoDbGrantLedger,
  GRANT_ID_PATTERN,
  type Grant,
  GrantAlreadyRevokedError,
  GrantNotFoundError,
  isLive,
  newGrantId,
  REVOKE_ATTRIBUTES,
} from '../../../shared/ssh/grant-ledger';

const TABLE = 'compliance-responder-test-incidents';
const GRANT_ID = 'sshg-20261123T113000-0a1b2c3d';
const grant: Grant = {
  grantId: GRANT_ID,
  kind: 'iam-ssh-key',
  target: { userName: 'dev-alice' },
  grantedTo: 'dev-alice',
  grantedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
  reason: 'INC-1 debug the billing host',
  createdAt: '2026-11-23T11:30:00.000Z',
  expiresAt: '2026-11-23T12:30:00.000Z',
};
const storedItem = (key: { pk: string; sk: string }, overrides: Record<string, unknown> = {}) => {
  const { expiresAt: _end, ...fields } = grant;
  return { ...key, ...fields, grantExpiresAt: grant.expiresAt, itemType: 'ssh-grant', ...overrides };
};

describe('the grant ledger in the incidents table', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const ledger = new DynamoDbGrantLedger(createAwsClients('us-east-1').dynamo(), TABLE, 2192);
  beforeEach(() => dynamo.reset());
  afterAll(() => dynamo.restore());

  it('writes the record and its listing copy together, kept for the incident retention after the grant ends', async () => {
    // Act
    await ledger.record(grant);
    // Assess
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((item) => [item.Put?.Item?.pk, item.Put?.Item?.sk])).toEqual([
      [`GRANT#${GRANT_ID}`, 'GRANT'],
      ['GRANTS', `2026-11-23T12:30:00.000Z#${GRANT_ID}`],
    ]);
    const ttl = Date.parse(grant.expiresAt) / 1000 + 2192 * 24 * 3600;
    for (const item of items) {
      expect(item.Put).toMatchObject({
        TableName: TABLE,
        ConditionExpression: 'attribute_not_exists(pk)',
        Item: { grantExpiresAt: grant.expiresAt, expiresAt: ttl, kind: 'iam-ssh-key', reason: grant.reason },
      });
      // Never an incident index key: grants must not show up in incident listings.
      expect(Object.keys(item.Put?.Item ?? {})).not.toEqual(expect.arrayContaining(['status']));
      expect(item.Put?.Item).not.toHaveProperty('ruleId');
      expect(item.Put?.Item).not.toHaveProperty('detectedMonth');
    }
  });

  it('refuses an expiry that would not sort as text', async () => {
    // Act / Assess
    await expect(ledger.record({ ...grant, expiresAt: '2026-11-23 12:30' })).rejects.toThrow('toISOString');
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 0);
  });

  it('lists grants ending after a time with one key-condition query per page, skipping items that do not parse', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .resolvesOnce({
        Items: [storedItem({ pk: 'GRANTS', sk: 'x' })],
        LastEvaluatedKey: { pk: 'GRANTS', sk: 'x' },
      })
      .resolvesOnce({ Items: [{ pk: 'GRANTS', sk: 'y', grantId: 'forged', kind: 'iam-ssh-key' }] });
    // Act
    const grants = await ledger.endingAfter(new Date('2026-11-23T12:00:00.000Z'));
    // Assess
    expect(grants).toEqual([grant]);
    expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND sk > :after',
      ExpressionAttributeValues: { ':pk': 'GRANTS', ':after': '2026-11-23T12:00:00.000Z' },
      ConsistentRead: true,
    });
  });

  it("records the grant's account on both items, and refuses one that is not 12 digits", async () => {
    // Act
    await ledger.record({ ...grant, account: '444455556666' });
    // Assess
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((item) => [item.Put?.Item?.pk, item.Put?.Item?.account])).toEqual([
      [`GRANT#${GRANT_ID}`, '444455556666'],
      ['GRANTS', '444455556666'],
    ]);
    await expect(ledger.record({ ...grant, account: 'o-abc' })).rejects.toThrow('12 digits');
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it("reads a grant's account, an item without one as before (the security account's), and no grant from a malformed one", async () => {
    // Prepare: the keys and fields as every grant has been stored
    dynamo.on(QueryCommand).resolves({
      Items: [
        storedItem({ pk: 'GRANTS', sk: 'a' }),
        storedItem({ pk: 'GRANTS', sk: 'b' }, { account: '444455556666' }),
        storedItem({ pk: 'GRANTS', sk: 'c' }, { account: 'everyone' }),
      ],
    });
    // Act
    const grants = await ledger.endingAfter(new Date('2026-11-23T12:00:00.000Z'));
    // Assess
    expect(grants).toEqual([grant, { ...grant, account: '444455556666' }]);
    expect(grants[0]).not.toHaveProperty('account');
  });

  it('lets a throttled query fail rather than report no grants', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    // Act / Assess
    await expect(ledger.endingAfter(new Date())).rejects.toThrow('Rate exceeded');
  });

  it('revokes both items at once, saying who and why, only if nobody revoked it first', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: storedItem({ pk: `GRANT#${GRANT_ID}`, sk: 'GRANT' }) });
    const at = new Date('2026-11-23T12:05:00.000Z');
    // Act
    const revoked = await ledger.revoke(
      GRANT_ID,
      'arn:aws:iam::111122223333:user/oncall-bob',
      at,
      'INC-42 work done early',
    );
    // Assess
    expect(revoked).toMatchObject({
      revokedAt: at.toISOString(),
      revokedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
      revokeReason: 'INC-42 work done early',
    });
    const updates = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(updates.map((item) => item.Update?.Key)).toEqual([
      { pk: `GRANT#${GRANT_ID}`, sk: 'GRANT' },
      { pk: 'GRANTS', sk: `2026-11-23T12:30:00.000Z#${GRANT_ID}` },
    ]);
    expect(updates.map((item) => item.Update?.ExpressionAttributeValues?.[':reason'])).toEqual([
      'INC-42 work done early',
      'INC-42 work done early',
    ]);
    expect(updates[0]?.Update?.ConditionExpression).toBe(
      'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
    );
  });

  it('touches only the attributes on-call may update when it revokes (its role allows no others)', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: storedItem({ pk: `GRANT#${GRANT_ID}`, sk: 'GRANT' }) });
    // Act
    await ledger.revoke(GRANT_ID, 'arn:aws:iam::111122223333:user/oncall-bob', new Date(), 'INC-42 done');
    // Assess: every attribute name in the expressions, whether spelled out or through a #name
    const updates = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    for (const { Update } of updates) {
      const expressions = `${Update?.UpdateExpression} ${Update?.ConditionExpression ?? ''}`;
      const names = [...expressions.replace(/:\w+/g, ' ').matchAll(/#?[A-Za-z_][\w.]*/g)]
        .map(([name]) => (name.startsWith('#') ? (Update?.ExpressionAttributeNames?.[name] ?? name) : name))
        .filter((name) => !/^(SET|REMOVE|AND|OR|NOT|attribute_exists|attribute_not_exists)$/.test(name));
      expect(names.filter((name) => !(REVOKE_ATTRIBUTES as readonly string[]).includes(name))).toEqual([]);
      expect(Update?.ReturnValuesOnConditionCheckFailure ?? 'NONE').toBe('NONE');
    }
    expect(updates).toHaveLength(2);
  });

  it('says which grant is unknown or already revoked', async () => {
    // Prepare
    dynamo
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({
        Item: storedItem(
          { pk: `GRANT#${GRANT_ID}`, sk: 'GRANT' },
          { revokedAt: '2026-11-23T12:01:00.000Z', revokedBy: 'x' },
        ),
      });
    // Act / Assess
    await expect(ledger.revoke(GRANT_ID, 'me', new Date(), 'INC-1 done')).rejects.toBeInstanceOf(
      GrantNotFoundError,
    );
    await expect(ledger.revoke(GRANT_ID, 'me', new Date(), 'INC-1 done')).rejects.toBeInstanceOf(
      GrantAlreadyRevokedError,
    );
  });

  it('reports a revoke that lost a race as already revoked', async () => {
    // Prepare
    const record = storedItem({ pk: `GRANT#${GRANT_ID}`, sk: 'GRANT' });
    dynamo
      .on(GetCommand)
      .resolvesOnce({ Item: record })
      .resolves({ Item: { ...record, revokedAt: '2026-11-23T12:01:00.000Z', revokedBy: 'someone' } });
    dynamo
      .on(TransactWriteCommand)
      .rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {} }));
    // Act / Assess
    await expect(ledger.revoke(GRANT_ID, 'me', new Date(), 'INC-1 done')).rejects.toThrow(
      'already revoked at 2026-11-23T12:01:00.000Z by someone',
    );
  });

  it('names grants so they sort by time and cannot be confused with free text', () => {
    // Act
    const id = newGrantId(new Date('2026-11-23T11:30:00.000Z'));
    // Assess
    expect(id).toMatch(/^sshg-20261123T113000-[0-9a-f]{8}$/);
    expect(GRANT_ID_PATTERN.test(id)).toBe(true);
    expect(isLive(grant, new Date('2026-11-23T12:29:59.000Z'))).toBe(true);
    expect(isLive(grant, new Date('2026-11-23T12:30:00.000Z'))).toBe(false);
  });
});
