import { ResponderError } from '../shared/errors';

/**
 * Exit codes of the command line: 0 ok, 1 an error (AWS, policy, not found), 2 a usage mistake,
 * 3 drift found (scan: the account is not compliant; not an error), 4 the blast-radius guard is
 * tripped (guard status: the responder only notifies until a person resets it).
 */
export const ExitCode = { Ok: 0, Error: 1, Usage: 2, DriftFound: 3, GuardTripped: 4 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A command that ran to the end and answers with its exit code (scan: drift found); it printed its result. */
export class Answered extends Error {
  override readonly name = 'Answered';
  constructor(readonly exitCode: ExitCode) {
    super(`exit code ${exitCode}`);
  }
}

/** A failure the person at the terminal can act on: one line saying what is wrong and what to do. */
export class CliError extends ResponderError {
  override name = 'CliError';
  readonly exitCode: ExitCode = ExitCode.Error;
}

/** The command was called wrongly (a malformed value, a missing or conflicting option). */
export class UsageError extends CliError {
  override name = 'UsageError';
  override readonly exitCode: ExitCode = ExitCode.Usage;
}

/** What an error means for the person at the terminal, as one line, given where the CLI looked. */
export function explainError(error: unknown, where: { table?: string; region?: string } = {}): CliError {
  if (error instanceof CliError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  // Connection failures: the SDK names no endpoint, so say which one was tried and what to check.
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH)$/.test(code)
  ) {
    const endpoint = process.env.AWS_ENDPOINT_URL;
    return new CliError(
      endpoint
        ? `cannot reach the AWS endpoint ${endpoint} (${code}): check AWS_ENDPOINT_URL (is the emulator running? npm run moto:start), or unset it to use AWS`
        : `cannot reach AWS in ${where.region ?? 'the region'} (${code}): check your network, proxy (HTTPS_PROXY) and the region`,
      { cause: error },
    );
  }
  switch (name) {
    case 'ResourceNotFoundException':
      return new CliError(
        `table '${where.table ?? '?'}' not found in ${where.region ?? 'the region'}: pass the --stage you deployed, or --table <name> (INCIDENT_TABLE) naming the stack's incidents table (compliance-responder-<stage>-incidents)`,
        { cause: error },
      );
    case 'CredentialsProviderError': {
      const profile = process.env.AWS_PROFILE;
      if (profile) {
        return new CliError(
          `AWS profile '${profile}' gave no credentials: it is not in your AWS config or credentials files (aws configure list-profiles), or its login has expired (aws sso login --profile ${profile})`,
          { cause: error },
        );
      }
      return new CliError(
        'no AWS credentials found: set AWS_PROFILE (aws configure, aws sso login) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
        { cause: error },
      );
    }
    case 'ExpiredToken':
    case 'ExpiredTokenException':
      return new CliError('your AWS credentials have expired: refresh them (aws sso login) and retry', {
        cause: error,
      });
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'UnauthorizedOperation':
    case 'UnauthorizedException':
      return new CliError(
        `access denied: ${message.split('\n')[0]} (ask for the permission, or use another profile)`,
        {
          cause: error,
        },
      );
    default:
      return new CliError(`${name}: ${message.split('\n')[0]}`, { cause: error });
  }
}
