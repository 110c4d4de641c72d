import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { type AwsClients, createAwsClients } from '../shared/aws/clients';
import { CliError, explainError, UsageError } from './errors';

/**
 * The stack the command line works on, from the deployed stack's outputs (serverless.yml `Outputs`):
 * `compliance-responder-<stage>` in the home region. Outputs change only with a deployment, so they
 * say where the table is as surely as the functions' own configuration does.
 */
export interface DeployedStack {
  stackName: string;
  stage: string;
  homeRegion: string;
  tableName: string;
  alertTopicArn?: string;
  keyArn?: string;
  onCallRoleArn?: string;
  approverRoleArn?: string;
}

const SERVICE = 'compliance-responder';
export const DEFAULT_STAGE = 'dev';

/** A stage as serverless accepts it in a stack name (letters, digits, hyphens). */
export function parseStage(stage: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,99}$/.test(stage)) {
    throw new UsageError(
      `invalid --stage '${stage}': a stage is letters, digits and hyphens, starting with a letter (the one you deployed: serverless deploy --stage <stage>)`,
    );
  }
  return stage;
}

/** A DynamoDB table name (3 to 255 of letters, digits, `_`, `-`, `.`), as --table names it. */
export function parseTableName(table: string): string {
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(table)) {
    throw new UsageError(
      `invalid --table '${table}': a DynamoDB table name is 3 to 255 letters, digits, '_', '-' or '.' (the stack's is compliance-responder-<stage>-incidents)`,
    );
  }
  return table;
}

export const stackNameOf = (stage: string) => `${SERVICE}-${stage}`;

async function outputsOf(
  clients: AwsClients,
  stackName: string,
  stage: string,
  region: string,
): Promise<Record<string, string>> {
  try {
    const { Stacks } = await clients
      .cloudformation(region)
      .send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).flatMap((output) =>
        output.OutputKey && output.OutputValue !== undefined ? [[output.OutputKey, output.OutputValue]] : [],
      ),
    );
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "... does not exist".
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw new CliError(
        `no stack ${stackName} in ${region}: pass the --stage you deployed (serverless deploy --stage <stage>) and --region of its home region, or --table <name> for a table outside a stack`,
        { cause: error },
      );
    }
    const explained = explainError(error);
    throw new CliError(`cannot read stack ${stackName} in ${region} (${stage}): ${explained.message}`, {
      cause: error,
    });
  }
}

/**
 * The home stack of `stage`, looked up in `region`; a forwarder stack there (output HomeRegion names
 * another region) leads to its home stack.
 */
export async function findStack(
  stage: string,
  region: string,
  clients: AwsClients = createAwsClients(region),
): Promise<DeployedStack> {
  const stackName = stackNameOf(stage);
  let homeRegion = region;
  let outputs = await outputsOf(clients, stackName, stage, region);
  const named = outputs.HomeRegion;
  if (!outputs.IncidentTableName && named && named !== region) {
    homeRegion = named;
    outputs = await outputsOf(clients, stackName, stage, homeRegion);
  }
  const tableName = outputs.IncidentTableName;
  if (!tableName) {
    throw new CliError(
      `stack ${stackName} in ${homeRegion} has no IncidentTableName output: redeploy it with this version (serverless deploy --stage ${stage})`,
    );
  }
  return {
    stackName,
    stage: outputs.Stage ?? stage,
    homeRegion: outputs.HomeRegion ?? homeRegion,
    tableName,
    ...optional('alertTopicArn', outputs.AlertTopicArn),
    ...optional('keyArn', outputs.ResponderKeyArn),
    ...optional('onCallRoleArn', outputs.OnCallRoleArn),
    ...optional('approverRoleArn', outputs.ApproverRoleArn),
  };
}

const optional = <K extends string>(key: K, value: string | undefined) =>
  (value ? { [key]: value } : {}) as Partial<Record<K, string>>;
