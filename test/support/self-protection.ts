import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateRoleCommand,
  EntityAlreadyExistsException,
  GetRoleCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import {
  CreateFunctionCommand,
  LambdaClient,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  ResourceConflictException,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';

/** An empty zip: moto stores the code, it never runs it. */
const EMPTY_ZIP = Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64');

/** Variables Lambda sets itself and refuses in a function's configuration. */
const RESERVED = new Set(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/**
 * One function of the stack deployed as serverless deploys it: with the stack's environment, then a
 * published version (the deployment's record of its configuration and code). Returns its ARN.
 */
export async function deployFunction(
  functionName: string,
  environment: Record<string, string> = {},
  region = 'us-east-1',
): Promise<string> {
  const iam = new IAMClient({ region });
  const RoleName = `${functionName}-role`.slice(0, 64);
  // A redeployment keeps the function's role.
  const role = await iam
    .send(new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: '{}' }))
    .catch((error: unknown) => {
      if (!(error instanceof EntityAlreadyExistsException)) throw error;
      return iam.send(new GetRoleCommand({ RoleName }));
    });
  const lambda = new LambdaClient({ region });
  const configuration = {
    FunctionName: functionName,
    Role: String(role.Role?.Arn),
    Environment: {
      Variables: Object.fromEntries(Object.entries(environment).filter(([name]) => !RESERVED.has(name))),
    },
  };
  try {
    await lambda.send(
      new CreateFunctionCommand({
        ...configuration,
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Code: { ZipFile: EMPTY_ZIP },
      }),
    );
  } catch (error) {
    // Local provisioning already made the grant reader: a deployment updates it.
    if (!(error instanceof ResourceConflictException)) throw error;
    await lambda.send(new UpdateFunctionConfigurationCommand(configuration));
  }
  const published = await lambda.send(new PublishVersionCommand({ FunctionName: functionName }));
  return String(published.FunctionArn).replace(/:\d+$/, '');
}

/**
 * The stack's EventBridge rules and one deployed function, named as serverless names them
 * (<stack>-<function>-rule-1, <stack>-<function>), which local provisioning does not create.
 */
export async function seedStackRouting(
  stackName: string,
  region = 'us-east-1',
  environment: Record<string, string> = {},
) {
  const functionName = `${stackName}-ebs-encryption-by-default`;
  const ruleName = `${functionName}-rule-1`;
  const functionArn = await deployFunction(functionName, environment, region);
  await new LambdaClient({ region }).send(
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
    new PutTargetsCommand({ Rule: ruleName, Targets: [{ Id: 'target-1', Arn: functionArn }] }),
  );
  return { functionName, ruleName };
}
