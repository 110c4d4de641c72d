import type { CliContext } from '../../cli/context';
import { createAwsClients } from '../../shared/aws/clients';
import { DynamoDbGrantLedger } from '../../shared/ssh/grant-ledger';
import { testSettings } from './incident';

/**
 * A command line's context built by hand for unit tests (the SDK mocked by aws-sdk-client-mock):
 * the real clients and grant ledger, test settings, an on-call topic that accepts every alert, a
 * fixed clock. Each test names what it is about (its caller, its deployed settings) in `overrides`.
 */
export function cliContext(
  overrides: Partial<Omit<CliContext, 'aws' | 'ledger'>> & { region?: string; tableName?: string } = {},
): CliContext {
  const region = overrides.region ?? 'us-east-1';
  const tableName = overrides.tableName ?? 'incidents';
  const aws = createAwsClients(region);
  const settings = testSettings();
  return {
    region,
    tableName,
    settings,
    io: { out: () => {}, err: () => {} },
    aws: () => aws,
    ledger: () => new DynamoDbGrantLedger(aws.dynamo(), tableName, 2192),
    deployedSettings: async () => settings,
    onCall: async () => ({ publish: async () => 'm-1' }),
    caller: async () => ({ arn: 'arn:aws:iam::111122223333:user/oncall-bob', accountId: '111122223333' }),
    now: () => new Date('2026-12-06T12:00:00.000Z'),
    runId: 'cli-test',
    ...overrides,
  };
}
