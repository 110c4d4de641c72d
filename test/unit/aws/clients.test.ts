import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { createAwsClients } from '../../../shared/aws/clients';

describe('the shared clients (shared/aws/clients.ts)', () => {
  it('builds one Security Hub client per region, with adaptive retries that slow down when throttled', async () => {
    // Prepare
    const aws = createAwsClients('us-east-1');
    // Act
    const client = aws.securityhub('eu-west-1');
    // Assess
    expect(client).toBeInstanceOf(SecurityHubClient);
    expect(aws.securityhub('eu-west-1')).toBe(client);
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await client.config.retryStrategy()).toMatchObject({ mode: 'adaptive' });
  });
});
