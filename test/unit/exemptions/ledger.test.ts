import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import {
  DynamoDbExemptionLedger,
  EXEMPTION_ID_PATTERN,
  type Exemption,
  ExemptionAlreadyRemovedError,
  ExemptionInForceError,
  newExemptionId,
} from '../../../shared/exemptions/ledger';

const TABLE = 'compliance-responder-test-incidents';
const ARN = 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc';
const exemption: Exemption = {
  exemptionId: 'exm-20261123T113000-0a1b2c3d',
  ruleId: 'ebs-volume-encrypted',
  resourceArn: ARN,
  reason: 'CHG-42 forensic copy',
  until: '2026-12-01T00:00:00.000Z',
  setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
  setAt: '2026-11-23T11:30:00.000Z',
};
const stored = (overrides: Record<string, unknown> = {}) => {
  const { ruleId, ...fields } = exemption;
  return { ...fields, exemptRuleId: ruleId, itemType: 'exemption', ...overrides };
};
const NOW = new Date('2026-11-23T12:00:00.000Z');

describe('the exemption ledger in the incidents table', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const ledger = new DynamoDbExemptionLedger(createAwsClients('us-east-1').dynamo(), TABLE, 2192);
  beforeEach(() => dynamo.reset());
  afterAll(() => dynamo.restore());

  it('writes the record, its listing copy and the current item together, outside every incident index', async () => {
    // Act
    await ledger.add(exemption, { now: NOW });
    // Assess
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((item) => [item.Put?.Item?.pk, item.Put?.Item?.sk])).toEqual([
      [`EXEMPTION#${exemption.exemptionId}`, 'EXEMPTION'],
      ['EXEMPTIONS', `2026-12-01T00:00:00.000Z#${exemption.exemptionId}`],
      ['EXEMPT#ebs-volume-encrypted', ARN],
    ]);
    const ttl = Date.parse(exemption.until) / 1000 + 2192 * 24 * 3600;
    for (const item of items) {
      expect(item.Put?.Item).toMatchObject({ exemptRuleId: 'ebs-volume-encrypted', expiresAt: ttl });
      for (const indexKey of ['ruleId', 'status', 'detectedMonth', 'detectedAt']) {
        expect(item.Put?.Item).not.toHaveProperty(indexKey);
      }
    }
    // The current item is replaced only when what it holds is no longer in force
    expect(items[2]?.Put).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk) OR attribute_exists(removedAt) OR #until <= :now',
      ExpressionAttributeValues: { ':now': NOW.toISOString() },
    });
  });

  it('refuses a second exemption while one is in force, naming it', async () => {
    // Prepare
    dynamo
      .on(TransactWriteCommand)
      .rejects(new TransactionCanceledException({ message: 'cancelled', $metadata: {} }));
    dynamo.on(GetCommand).resolves({ Item: stored({ exemptionId: 'exm-20261101T000000-00000000' }) });
    // Act
    const adding = ledger.add({ ...exemption, exemptionId: newExemptionId(NOW) }, { now: NOW });
    // Assess
    await expect(adding).rejects.toBeInstanceOf(ExemptionInForceError);
    await expect(adding).rejects.toThrow('remove it first (exemptions remove exm-20261101T000000-00000000)');
  });

  it('looks up a rule and resource with one consistent read', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: stored() });
    // Act
    const current = await ledger.current('ebs-volume-encrypted', ARN);
    // Assess
    expect(current).toEqual(exemption);
    expect(dynamo).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { pk: 'EXEMPT#ebs-volume-encrypted', sk: ARN },
      ConsistentRead: true,
    });
  });

  it('exempts nothing from an item that does not parse', async () => {
    // Prepare: a hand-edited item without an expiry
    dynamo.on(GetCommand).resolves({ Item: stored({ until: 'next year' }) });
    // Act / Assess
    expect(await ledger.current('ebs-volume-encrypted', ARN)).toBeUndefined();
  });

  it('records a removal on every copy, never deleting, and refuses to remove twice', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: stored() });
    // Act
    const removed = await ledger.remove(
      exemption.exemptionId,
      'arn:aws:iam::111122223333:user/lead',
      NOW,
      'done early',
    );
    // Assess
    expect(removed).toMatchObject({
      removedAt: NOW.toISOString(),
      removedBy: 'arn:aws:iam::111122223333:user/lead',
    });
    const items = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((item) => item.Update?.Key)).toEqual([
      { pk: `EXEMPTION#${exemption.exemptionId}`, sk: 'EXEMPTION' },
      { pk: 'EXEMPTIONS', sk: `${exemption.until}#${exemption.exemptionId}` },
      { pk: 'EXEMPT#ebs-volume-encrypted', sk: ARN },
    ]);
    for (const item of items) {
      expect(item.Update).toMatchObject({
        ConditionExpression: 'exemptionId = :id AND attribute_not_exists(removedAt)',
        ExpressionAttributeValues: { ':why': 'done early' },
      });
    }
    // Act / Assess: already removed
    dynamo.on(GetCommand).resolves({ Item: stored({ removedAt: NOW.toISOString(), removedBy: 'someone' }) });
    await expect(ledger.remove(exemption.exemptionId, 'x', NOW)).rejects.toBeInstanceOf(
      ExemptionAlreadyRemovedError,
    );
  });

  it('names exemptions by time and randomness', () => {
    expect(newExemptionId(NOW)).toMatch(EXEMPTION_ID_PATTERN);
    expect(newExemptionId(NOW)).not.toBe(newExemptionId(NOW));
  });
});
