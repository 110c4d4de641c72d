import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ExitCode } from '../../../cli/errors';
import { main } from '../../../cli/index';

/**
 * Every option of a command (and the global --stage, --region, --table) is checked before any is
 * reported and before the context is built: every problem at once, one line each, no AWS call.
 */
const clients = [
  mockClient(CloudFormationClient),
  mockClient(DynamoDBClient),
  mockClient(DynamoDBDocumentClient),
  mockClient(EC2Client),
  mockClient(IAMClient),
  mockClient(LambdaClient),
  mockClient(SNSClient),
  mockClient(STSClient),
];

afterAll(() => {
  for (const client of clients) client.restore();
});
beforeEach(() => {
  for (const client of clients) client.reset();
});

/** No table named: a run that got as far as the context would look the stack up (a CloudFormation call). */
async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'compliance-responder', ...args],
    { out: (line) => out.push(line), err: (line) => err.push(line) },
    { AWS_REGION: 'us-east-1' },
  );
  return { code, out, err };
}

const awsCalls = () => clients.reduce((total, client) => total + client.calls().length, 0);

describe('options checked together', () => {
  it.each([
    [
      'a report with a bad start, end and format',
      ['report', '--since', 'nope', '--until', 'nope', '--format', 'pdfx'],
      ["invalid --since 'nope'", "invalid --until 'nope'", "invalid --format 'pdfx'"],
    ],
    [
      'a grant with a bad duration, address and reason',
      [
        'ssh',
        'grant',
        '--security-group',
        'sg-1',
        '--cidr',
        '10.0.0.300/32',
        '--ttl',
        'forever',
        '--reason',
        'x',
      ],
      ["invalid --ttl 'forever'", "invalid --cidr '10.0.0.300/32'", '--reason must say why'],
    ],
    [
      'a grant without a reason or a target, and a bad duration',
      ['ssh', 'grant', '--ttl', '1.5h'],
      ["required option '--reason <text>' not specified", "invalid --ttl '1.5h'", 'either --user <iam-user>'],
    ],
    [
      'an unknown region and bad list filters',
      ['--region', 'us-est-1', 'incidents', 'list', '--status', 'nope', '--limit', '0'],
      ["unknown region 'us-est-1' (--region)", "invalid --status 'nope'", "invalid --limit '0'"],
    ],
    [
      'a bad stage and table',
      ['--stage', '9lives', '--table', 'no spaces!', 'guard', 'status'],
      ["invalid --stage '9lives'", "invalid --table 'no spaces!'"],
    ],
    [
      'a scan of an unknown rule and region',
      ['scan', '--rule', 'no-such-rule', '--region', 'ap-southeast-22'],
      ["unknown rule 'no-such-rule'", "unknown region 'ap-southeast-22' (--region)"],
    ],
    [
      'an exemption of an unknown rule, ending in the past, with no reason worth the name',
      [
        'exemptions',
        'add',
        'arn:aws:ec2:us-east-1:111122223333:volume/vol-1',
        '--rule',
        'nope',
        '--until',
        '2000-01-01',
        '--reason',
        'x',
      ],
      ["unknown --rule 'nope'", "invalid --until '2000-01-01'", '--reason must say why'],
    ],
    [
      'an undo of a malformed id with a bad exemption length',
      ['incidents', 'undo', 'vol-1', '--reason', 'no', '--exempt-for', 'ages', '--yes'],
      ["'vol-1' is not an incident id", "invalid --exempt-for 'ages'", '--reason must say why'],
    ],
    [
      'an unknown option with a bad value',
      ['report', '--since', 'nope', '--formt', 'md'],
      ["unknown option '--formt'", "invalid --since 'nope'"],
    ],
  ])('names every problem of %s, exits 2 and calls no AWS', async (_case, args, problems) => {
    // Act
    const result = await run(args);
    // Assess
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.out).toEqual([]);
    for (const problem of problems) {
      expect(result.err.filter((line) => line.includes(problem))).toHaveLength(1);
    }
    // One line each (the hint to --help aside), each saying it is an error.
    const lines = result.err.filter((line) => line.startsWith('error: '));
    expect(lines).toHaveLength(problems.length);
    expect(awsCalls()).toBe(0);
  });

  it('refuses --out naming a directory with the other problems, writing nothing', async () => {
    // Prepare
    const directory = mkdtempSync(`${tmpdir()}/report-`);
    // Act
    const result = await run(['report', '--since', 'nope', '--out', directory]);
    // Assess
    expect(result.code).toBe(ExitCode.Usage);
    expect(result.err).toEqual([
      expect.stringContaining("error: invalid --since 'nope'"),
      expect.stringContaining(`error: --out '${directory}' is a directory`),
    ]);
    expect(awsCalls()).toBe(0);
  });

  it('still reaches the context when every option is right', async () => {
    // Act: no table named, so the stage's stack is looked up (the mock answers nothing)
    const result = await run(['report', '--since', '7d', '--format', 'md']);
    // Assess
    expect(result.code).toBe(ExitCode.Error);
    expect(awsCalls()).toBeGreaterThan(0);
  });
});
