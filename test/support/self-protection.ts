import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateFunctionCommand,
  LambdaClient,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
} from '@aws-sdk/client-lambda';

/** An empty zip: moto stores the code, it never runs it. */
const EMPTY_ZIP = Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64');

/** Variables Lambda sets itself and refuses in a function's configuration. */
const RESERVED = new Set(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/**
 * The stack's EventBridge rules and one function, named as serverless names them
 * (<stack>-<function>-rule-1, <stack>-<function>), which local provisioning does not create. The
 * function is deployed as serverless deploys it: with the stack's environment, then a published
 * version (the deployment's record of its configuration and code).
 */
export async function seedStackRouting(
  stackName: string,
  region = 'us-east-1',
  environment: Record<string, string> = {},
) {
  const functionName = `${stackName}-ebs-encryption-by-default`;
  const ruleName = `${functionName}-rule-1`;
  const role = await new IAMClient({ region }).send(
    new CreateRoleCommand({ RoleName: `${stackName}-seeded-function-role`, AssumeRolePolicyDocument: '{}' }),
  );
  const lambda = new LambdaClient({ region });
  const created = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: functionName,
      Runtime: 'nodejs22.x',
      Role: String(role.Role?.Arn),
      Handler: 'index.handler',
      Code: { ZipFile: EMPTY_ZIP },
      Environment: {
        Variables: Object.fromEntries(Object.entries(environment).filter(([name]) => !RESERVED.has(name))),
      },
    }),
  );
  await lambda.send(new PublishVersionCommand({ FunctionName: functionName }));
  await lambda.send(
    new PutFunctionConcurrencyCommand({ FunctionName: functionName, ReservedConcurrentExecutions: 5 }),
  );
  const events = new EventBridgeClient({ region });
  await events.send(
    new PutRuleCommand({
      Name: ruleName,
      EventPattern: JSON.stringify({ source: ['aws.ec2'] }),
      State: 'ENABLED',
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: ruleName,
      Targets: [{ Id: 'target-1', Arn: String(created.FunctionArn) }],
    }),
  );
  return { functionName, ruleName };
}
