import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import type { cloudTrailEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { loadSettings } from '../../shared/config';
import { SnsAlertPublisher } from '../../shared/pipeline/alerts';
import { BlastRadiusGuard } from '../../shared/pipeline/guards';
import { DynamoDbIncidentStore } from '../../shared/pipeline/incident-store';
import { ResponsePipeline } from '../../shared/pipeline/run-pipeline';
import type { Rule } from '../../shared/rules/rule';
import type { TriggerEvent } from '../../shared/triggers';
import { parseTriggerEvent } from '../../shared/triggers';
import type { LocalResponder } from './local-responder';

type RecordedCall = ReturnType<typeof cloudTrailEvent>;

/** A self-protection call as the function receives it, through the real CloudTrail adapter. */
export function selfProtectionTrigger(event: RecordedCall): TriggerEvent {
  return parseTriggerEvent(event);
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * The pipeline exactly as ruleHandler builds it, over the locally provisioned stack (its table,
 * topic and guard in moto), with the stack's environment plus overrides.
 */
export function localPipeline(rule: Rule, responder: LocalResponder, overrides: Record<string, string> = {}) {
  const settings = loadSettings([rule], {
    ...responder.stack.env,
    ...overrides,
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
  });
  const aws = createAwsClients(settings.homeRegion);
  return new ResponsePipeline(rule, {
    aws,
    settings,
    store: new DynamoDbIncidentStore(aws.dynamo(), settings.incidentTable, settings.incidentRetentionDays),
    alerts: new SnsAlertPublisher(aws.sns(), settings.alertTopicArn),
    guard: new BlastRadiusGuard(
      aws.dynamo(),
      settings.incidentTable,
      settings.guard.threshold,
      settings.guard.windowMinutes,
    ),
    logger: quiet,
    metrics: { count: () => undefined },
    verify: { attempts: 3, delayMs: 50 },
  });
}

/** An empty zip: moto stores the code, it never runs it. */
const EMPTY_ZIP = Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64');

/**
 * The stack's EventBridge rules and one function, named as serverless names them
 * (<stack>-<function>-rule-1, <stack>-<function>), which local provisioning does not create.
 */
export async function seedStackRouting(stackName: string, region = 'us-east-1') {
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
    }),
  );
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
