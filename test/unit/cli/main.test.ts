import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createContext } from '../../../cli/context';
import { explainError } from '../../../cli/errors';
import { main } from '../../../cli/index';

/** Runs the command line in this process, capturing what it prints. No AWS call is reached here. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'compliance-responder', ...args],
    { out: (l) => out.push(l), err: (l) => err.push(l) },
    {
      AWS_REGION: 'us-east-1',
      INCIDENT_TABLE: 'compliance-responder-test-incidents',
      ...env,
    },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('the command line', () => {
  it.each([
    ['an unknown command', ['ssh', 'open-everything'], "unknown command 'open-everything'"],
    [
      'a grant without a reason',
      ['ssh', 'grant', '--user', 'dev-alice'],
      "required option '--reason <text>'",
    ],
    [
      'a grant naming no target',
      ['ssh', 'grant', '--reason', 'INC-1 debug'],
      'either --user <iam-user> or --security-group',
    ],
    [
      'a grant naming both targets',
      ['ssh', 'grant', '--user', 'a', '--security-group', 'sg-1', '--reason', 'INC-1'],
      'either --user',
    ],
    [
      'a malformed TTL',
      ['ssh', 'grant', '--user', 'dev-alice', '--ttl', '1.5h', '--reason', 'INC-1'],
      "invalid --ttl '1.5h'",
    ],
    [
      'a CIDR with an IAM grant',
      ['ssh', 'grant', '--user', 'a', '--cidr', '1.2.3.4/32', '--reason', 'INC-1'],
      '--cidr goes with --security-group',
    ],
    [
      'a security-group grant without a CIDR',
      ['ssh', 'grant', '--security-group', 'sg-1', '--reason', 'INC-1'],
      'needs --cidr',
    ],
    [
      'a revoke of something that is not a grant id',
      ['ssh', 'revoke', 'sg-123', '--reason', 'INC-1 done'],
      "'sg-123' is not a grant id",
    ],
  ])('exits 2 on %s, saying what to do', async (_case, args, words) => {
    // Act
    const result = await run(args);
    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain(words);
  });

  describe('caps the TTL at what the stack was deployed with', () => {
    const lambda = mockClient(LambdaClient);
    const iam = mockClient(IAMClient);
    const dynamo = mockClient(DynamoDBDocumentClient);
    beforeEach(() => {
      lambda.reset();
      iam.reset();
      dynamo.reset();
    });
    afterAll(() => {
      lambda.restore();
      iam.restore();
      dynamo.restore();
    });

    /** The versions the deployments published: $LATEST first, as Lambda lists them. */
    const published = (...versions: { Version: string; Environment: object }[]) =>
      lambda.on(ListVersionsByFunctionCommand).resolves({ Versions: versions });
    const stackVariables = (variables: Record<string, string>) => ({
      Variables: {
        INCIDENT_TABLE: 'compliance-responder-test-incidents',
        ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:compliance-responder-test-alerts',
        HOME_REGION: 'us-east-1',
        ...variables,
      },
    });
    const deployedWith = (variables: Record<string, string>) =>
      published(
        { Version: '$LATEST', Environment: stackVariables({ SSH_GRANT_MAX_TTL_MINUTES: '10080' }) },
        { Version: '1', Environment: stackVariables({ SSH_GRANT_MAX_TTL_MINUTES: '10080' }) },
        { Version: '2', Environment: stackVariables(variables) },
      );

    it("exits 1 on a TTL over the deployed cap, whatever the caller's environment or $LATEST say, before changing anything", async () => {
      // Prepare
      deployedWith({ SSH_GRANT_MAX_TTL_MINUTES: '120' });
      // Act
      const result = await run(['ssh', 'grant', '--user', 'dev-alice', '--ttl', '3h', '--reason', 'INC-1'], {
        SSH_GRANT_MAX_TTL_MINUTES: '10080',
      });
      // Assess
      expect(result).toMatchObject({ code: 1, out: '' });
      expect(result.err).toBe(
        'error: TTL 3h is over the cap of 2h the stack was deployed with (SSH_GRANT_MAX_TTL_MINUTES=120): ask for 2h or less, and grant again when it ends',
      );
      expect(lambda).toHaveReceivedCommandWith(ListVersionsByFunctionCommand, {
        FunctionName: 'compliance-responder-test-ssh-grant-expired',
      });
      expect(iam.calls()).toEqual([]);
      expect(dynamo.calls()).toEqual([]);
    });

    it.each([
      [
        'a function reading another table',
        [{ Version: '1', Environment: { Variables: { INCIDENT_TABLE: 'someone-elses-incidents' } } }],
        'it reads table someone-elses-incidents, not compliance-responder-test-incidents',
      ],
      [
        'variables the caller cannot decrypt',
        [
          {
            Version: '1',
            Environment: { Error: { ErrorCode: 'AccessDeniedException', Message: 'kms:Decrypt denied' } },
          },
        ],
        'AccessDeniedException: kms:Decrypt denied',
      ],
      [
        'no published version, only $LATEST',
        [{ Version: '$LATEST', Environment: stackVariables({ SSH_GRANT_MAX_TTL_MINUTES: '10080' }) }],
        'no published version',
      ],
    ])('refuses to grant when it cannot read the deployed caps: %s', async (_case, versions, words) => {
      // Prepare
      published(...versions);
      // Act
      const result = await run(['ssh', 'grant', '--user', 'dev-alice', '--ttl', '1h', '--reason', 'INC-1']);
      // Assess
      expect(result.code).toBe(1);
      expect(result.err).toContain(
        'cannot read the settings the stack was deployed with (its caps and alert topic) from compliance-responder-test-ssh-grant-expired in us-east-1',
      );
      expect(result.err).toContain(words);
      expect(iam.calls()).toEqual([]);
    });
  });

  it("exits 1 when no table is named and the stage's stack is not deployed, and on an invalid setting naming it", async () => {
    // Prepare
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id compliance-responder-dev does not exist'), {
        name: 'ValidationError',
      }),
    );
    // Act
    const noTable = await run(['ssh', 'grants'], { INCIDENT_TABLE: '' });
    const badSetting = await run(['ssh', 'grants'], { SSH_GRANT_MAX_TTL_MINUTES: 'lots' });
    cfn.restore();
    // Assess
    expect(noTable.code).toBe(1);
    expect(noTable.err).toContain(
      'no stack compliance-responder-dev in us-east-1: pass the --stage you deployed',
    );
    expect(noTable.err).toContain('or --table <name>');
    expect(badSetting.code).toBe(1);
    expect(badSetting.err).toContain('SSH_GRANT_MAX_TTL_MINUTES');
  });

  it('exits 0 on --help', async () => {
    // Act
    const result = await run(['ssh', 'grant', '--help']);
    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toContain('--security-group <sg-id>');
  });

  it('turns AWS errors into one line with what to do', () => {
    // Act / Assess
    expect(
      explainError(
        Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' }),
        {
          table: 't',
          region: 'eu-west-1',
        },
      ).message,
    ).toBe(
      "table 't' not found in eu-west-1: pass the --stage you deployed, or --table <name> (INCIDENT_TABLE) naming the stack's incidents table (compliance-responder-<stage>-incidents)",
    );
    expect(
      explainError(
        Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }),
      ).message,
    ).toContain('no AWS credentials found');
  });
});

describe('where the command line finds its table and settings', () => {
  const io = { out: () => {}, err: () => {} };
  const localCopy = () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cli-cwd-'));
    mkdirSync(join(cwd, '.local'));
    writeFileSync(
      join(cwd, '.local', 'env.json'),
      JSON.stringify({
        INCIDENT_TABLE: 'local-incidents',
        AWS_REGION: 'eu-west-1',
        SSH_GRANT_TAG: 'x:grant',
        AWS_SECRET_ACCESS_KEY: 'never',
      }),
    );
    return cwd;
  };

  it('reads .local/env.json against a local emulator, options and environment first', async () => {
    // Prepare
    const cwd = localCopy();
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' };
    // Act
    const fromFile = await createContext({}, io, env, cwd);
    const fromOptions = await createContext({ table: 'mine', region: 'us-west-2' }, io, env, cwd);
    // Assess
    expect([fromFile.tableName, fromFile.region, fromFile.settings.ssh.grantTag]).toEqual([
      'local-incidents',
      'eu-west-1',
      'x:grant',
    ]);
    expect([fromOptions.tableName, fromOptions.region]).toEqual(['mine', 'us-west-2']);
  });

  it("never reads .local/env.json against real AWS: the stage's stack names the table there", async () => {
    // Prepare
    const cwd = localCopy();
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'compliance-responder-dev',
          CreationTime: new Date(0),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'IncidentTableName', OutputValue: 'compliance-responder-dev-incidents' }],
        },
      ],
    });
    // Act
    const ctx = await createContext({ region: 'us-east-1' }, io, {}, cwd);
    cfn.restore();
    // Assess
    expect([ctx.tableName, ctx.tableSource]).toEqual(['compliance-responder-dev-incidents', 'stack']);
    expect(ctx.settings.ssh.grantTag).not.toBe('x:grant');
  });
});
