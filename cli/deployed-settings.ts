import type { LambdaClient } from '@aws-sdk/client-lambda';
import { loadSettings, type Settings } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { rules } from '../shared/rules';
import { deployedVersion } from '../shared/rules/function-configuration';
import { CliError } from './errors';

/**
 * The settings the stack was deployed with (the caps the command line enforces, the topic it alerts
 * on-call on): the environment of the version of its grant reader (the
 * `ssh-grant-expired` function) that the last deployment published. The command line enforces the
 * caps from here, never from the caller's environment, which anyone could set to widen them, nor
 * from $LATEST, which lambda:UpdateFunctionConfiguration can change without a deployment (and which
 * self-protection compares with the same version). ListVersionsByFunction in the home region, in AWS
 * and against moto alike (`npm run local:provision` creates and publishes the function there with
 * the stack's environment). The function is named after the stack whose table the command line writes:
 * `<stack>-ssh-grant-expired` beside `<stack>-incidents`.
 */

const TABLE_SUFFIX = '-incidents';
const GRANT_READER = 'ssh-grant-expired';

/** The stack's grant reader, named from its table (serverless.yml: `${service}-${stage}-incidents`). */
export function grantReaderOf(tableName: string): string {
  if (!tableName.endsWith(TABLE_SUFFIX)) {
    throw new CliError(
      `cannot tell the stack of table '${tableName}': the stack's table is <stack>${TABLE_SUFFIX} (pass --table or set INCIDENT_TABLE to it)`,
    );
  }
  return `${tableName.slice(0, -TABLE_SUFFIX.length)}-${GRANT_READER}`;
}

export async function readDeployedSettings(
  lambda: LambdaClient,
  tableName: string,
  region: string,
): Promise<Settings> {
  const FunctionName = grantReaderOf(tableName);
  const unreadable = (why: string, cause?: unknown) =>
    new CliError(
      `cannot read the settings the stack was deployed with (its caps and alert topic) from ${FunctionName} in ${region}: ${why}`,
      { cause },
    );
  let variables: Record<string, string> | undefined;
  try {
    const configuration = await deployedVersion(lambda, FunctionName);
    if (!configuration) throw unreadable('no published version: deploy the stack (serverless publishes one)');
    const { Variables, Error: failure } = configuration.Environment ?? {};
    // Variables are encrypted with the stack's key: reading them needs kms:Decrypt on it.
    if (failure) throw unreadable(`${failure.ErrorCode ?? 'error'}: ${failure.Message ?? ''}`);
    variables = Variables;
  } catch (error) {
    if (error instanceof CliError) throw error;
    const name = error instanceof Error ? error.name : 'error';
    throw unreadable(
      name === 'ResourceNotFoundException'
        ? 'no such function (set HOME_REGION or --region to the home stack, and --table to its table)'
        : `${name} (on-call needs lambda:ListVersionsByFunction on it and kms:Decrypt on the stack's key)`,
      error,
    );
  }
  if (variables?.INCIDENT_TABLE !== tableName) {
    throw unreadable(`it reads table ${variables?.INCIDENT_TABLE ?? '(none)'}, not ${tableName}`);
  }
  try {
    return loadSettings(rules, { ...variables, AWS_REGION: region });
  } catch (error) {
    if (error instanceof ConfigurationError) throw unreadable(error.message, error);
    throw error;
  }
}
