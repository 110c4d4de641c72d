import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createContext } from '../../../cli/context';
import { main } from '../../../cli/index';
import { findStack } from '../../../cli/stack';

const io = { out: () => {}, err: () => {} };
const ACCOUNT = '111122223333';
/** A stack as DescribeStacks answers. */
const stackOf = (StackName: string, Outputs: { OutputKey: string; OutputValue: string }[]) => ({
  StackName,
  Outputs,
  CreationTime: new Date(0),
  StackStatus: 'UPDATE_COMPLETE' as const,
});
const outputsOf = (stage: string, region: string) => [
  { OutputKey: 'Stage', OutputValue: stage },
  { OutputKey: 'HomeRegion', OutputValue: region },
  { OutputKey: 'IncidentTableName', OutputValue: `compliance-responder-${stage}-incidents` },
  {
    OutputKey: 'AlertTopicArn',
    OutputValue: `arn:aws:sns:${region}:${ACCOUNT}:compliance-responder-${stage}-alerts`,
  },
  { OutputKey: 'ResponderKeyArn', OutputValue: `arn:aws:kms:${region}:${ACCOUNT}:key/k-1` },
  {
    OutputKey: 'OnCallRoleArn',
    OutputValue: `arn:aws:iam::${ACCOUNT}:role/compliance-responder-${stage}-on-call`,
  },
  {
    OutputKey: 'ApproverRoleArn',
    OutputValue: `arn:aws:iam::${ACCOUNT}:role/compliance-responder-${stage}-approver`,
  },
];

describe('the stack the command line works on', () => {
  const cfn = mockClient(CloudFormationClient);
  beforeEach(() => cfn.reset());
  afterAll(() => cfn.restore());

  it("is found from the deployed stack's outputs, given only the stage", async () => {
    // Prepare
    cfn
      .on(DescribeStacksCommand, { StackName: 'compliance-responder-prod' })
      .resolves({ Stacks: [stackOf('compliance-responder-prod', outputsOf('prod', 'eu-west-1'))] });
    // Act
    const stack = await findStack('prod', 'eu-west-1');
    // Assess
    expect(stack).toEqual({
      stackName: 'compliance-responder-prod',
      stage: 'prod',
      homeRegion: 'eu-west-1',
      tableName: 'compliance-responder-prod-incidents',
      alertTopicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:compliance-responder-prod-alerts`,
      keyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/k-1`,
      onCallRoleArn: `arn:aws:iam::${ACCOUNT}:role/compliance-responder-prod-on-call`,
      approverRoleArn: `arn:aws:iam::${ACCOUNT}:role/compliance-responder-prod-approver`,
    });
  });

  it("follows a forwarder stack to its home region's stack", async () => {
    // Prepare: in us-west-2 the stage is a forwarder, whose home is eu-west-1
    cfn.on(DescribeStacksCommand).callsFake(async (input: { StackName: string }, getClient) => {
      const region = await getClient().config.region();
      if (region === 'us-west-2') {
        return {
          Stacks: [
            stackOf(input.StackName, [
              { OutputKey: 'Stage', OutputValue: 'prod' },
              { OutputKey: 'HomeRegion', OutputValue: 'eu-west-1' },
              { OutputKey: 'HomeEventBusArn', OutputValue: 'arn:aws:events:eu-west-1:1:event-bus/default' },
            ]),
          ],
        };
      }
      return { Stacks: [stackOf(input.StackName, outputsOf('prod', 'eu-west-1'))] };
    });
    // Act
    const stack = await findStack('prod', 'us-west-2');
    // Assess
    expect(stack.homeRegion).toBe('eu-west-1');
    expect(stack.tableName).toBe('compliance-responder-prod-incidents');
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(2);
  });

  it('names the stack, the region and what to do when no such stack is deployed', async () => {
    // Prepare
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id compliance-responder-qa does not exist'), {
        name: 'ValidationError',
      }),
    );
    // Act
    const found = findStack('qa', 'us-east-1');
    // Assess
    await expect(found).rejects.toThrow(
      'no stack compliance-responder-qa in us-east-1: pass the --stage you deployed (serverless deploy --stage <stage>) and --region of its home region, or --table <name> for a table outside a stack',
    );
  });

  it('refuses a stack without the home outputs, saying which it lacks', async () => {
    // Prepare
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackOf('compliance-responder-dev', [])] });
    // Act
    const found = findStack('dev', 'us-east-1');
    // Assess
    await expect(found).rejects.toThrow(
      'stack compliance-responder-dev in us-east-1 has no IncidentTableName output: redeploy it with this version (serverless deploy --stage dev)',
    );
  });

  it('is used by every command when neither --table nor INCIDENT_TABLE names a table', async () => {
    // Prepare
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [stackOf('compliance-responder-dev', outputsOf('dev', 'us-east-1'))],
    });
    // Act
    const ctx = await createContext({ region: 'us-east-1' }, io, {}, '/nonexistent');
    // Assess: the default stage is dev
    expect(cfn).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'compliance-responder-dev' });
    expect(ctx.tableName).toBe('compliance-responder-dev-incidents');
    expect(ctx.settings.homeRegion).toBe('us-east-1');
  });

  it('is not looked up when INCIDENT_TABLE names the table (tests and local runs)', async () => {
    // Act
    const ctx = await createContext(
      { region: 'us-east-1' },
      io,
      { INCIDENT_TABLE: 'compliance-responder-test-incidents' },
      '/nonexistent',
    );
    // Assess
    expect(ctx.tableName).toBe('compliance-responder-test-incidents');
    expect(cfn.calls()).toEqual([]);
  });

  it.each([
    ['a stage with a space', ['--stage', 'my stage', 'guard', 'status'], "invalid --stage 'my stage'"],
    ['an empty stage', ['--stage', '', 'guard', 'status'], "invalid --stage ''"],
  ])('exits 2 on %s before any AWS call', async (_case, args, words) => {
    // Act
    const err: string[] = [];
    const code = await main(
      ['node', 'compliance-responder', ...args],
      { out: () => {}, err: (line) => err.push(line) },
      { AWS_REGION: 'us-east-1' },
    );
    // Assess
    expect(code).toBe(2);
    expect(err.join('\n')).toContain(words);
    expect(cfn.calls()).toEqual([]);
  });
});
