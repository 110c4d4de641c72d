import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDbIncidentStore } from '../../../shared/pipeline/incident-store';
import { IncidentStatus } from '../../../shared/pipeline/lifecycle';
import { anIncident } from '../../support/incident';

/**
 * `list` stops paging once it holds `limit` incidents: it must count only those its filters keep,
 * or a filter that matches a later page (another account, another rule) lists nothing.
 */

const ddb = mockClient(DynamoDBDocumentClient);
const store = () =>
  new DynamoDbIncidentStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    'incidents',
    30,
    () => new Date('2026-11-23T10:20:00Z'),
  );
const item = (incidentId: string, account: string, ruleId = 'ebs-encryption-by-default') => ({
  ...anIncident({ incidentId, account, ruleId, detectedAt: '2026-11-23T10:00:00.000Z' }),
  pk: `INCIDENT#${incidentId}`,
  sk: 'INCIDENT',
});

describe('DynamoDbIncidentStore.list, paging under a filter', () => {
  beforeEach(() => ddb.reset());

  it('keeps paging past a page of other accounts until it holds the limit of matching incidents', async () => {
    // Prepare: the first page holds only this account's incidents, the second the member's
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [item('inc-a', '111111111111'), item('inc-b', '111111111111')],
        LastEvaluatedKey: { pk: 'INCIDENT#inc-b' },
      })
      .resolves({ Items: [item('inc-m', '222222222222')] });
    // Act
    const found = await store().list({ accounts: ['222222222222'], limit: 1, since: '2026-11-01T00:00:00Z' });
    // Assess
    expect(found.map((incident) => incident.incidentId)).toEqual(['inc-m']);
  });

  it('under a status query filtered by rule, counts only the rule’s incidents towards the limit', async () => {
    // Prepare
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [item('inc-a', '111111111111', 'ssh-open-to-world')],
        LastEvaluatedKey: { pk: 'INCIDENT#inc-a' },
      })
      .resolves({ Items: [item('inc-b', '111111111111')] });
    // Act
    const found = await store().list({
      status: IncidentStatus.Remediated,
      ruleId: 'ebs-encryption-by-default',
      limit: 1,
      since: '2026-11-01T00:00:00Z',
    });
    // Assess
    expect(found.map((incident) => incident.incidentId)).toEqual(['inc-b']);
  });
});
