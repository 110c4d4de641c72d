import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readServerlessDefinition } from '../../scripts/lib/serverless-template';

/**
 * The optional Security Hub findings (docs/security-hub.md), proven on the packaged template (moto
 * enforces no IAM): everything of the security-hub-findings function exists only under its
 * condition, and its role can import this account's findings and move their workflow, nothing else.
 */
const TEMPLATE = join(__dirname, '..', '..', '.serverless', 'cloudformation-template-update-stack.json');
const CONDITION = 'SecurityHubFindingsEnabled';

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, unknown>;
}

/** CloudFormation's own placeholders (Fn::Sub), not template literals. */
const sub = (text: string) => ({ 'Fn::Sub': text.replaceAll('{', '${') });

const actionsOf = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe('Security Hub findings in the packaged template', () => {
  if (!existsSync(TEMPLATE)) throw new Error('run `bash scripts/template-check.sh` first');
  const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as {
    Conditions: Record<string, unknown>;
    Resources: Record<string, Resource>;
    Outputs?: Record<string, { Condition?: string; Value: unknown }>;
  };
  const resources = template.Resources;
  const mentions = (value: unknown, id: string) =>
    new RegExp(`"(Ref|Fn::GetAtt)":(\\["|")${id}["\\]]`).test(JSON.stringify(value));
  const own = Object.entries(resources).filter(
    ([id, resource]) =>
      id.startsWith('SecurityDashhubDashfindings') ||
      id === 'SecurityHubFindingsRole' ||
      mentions(resource.Properties, 'SecurityDashhubDashfindingsLambdaFunction'),
  );

  it('is off unless the securityHubFindings parameter is "true" (default false)', () => {
    // Assess
    expect(readServerlessDefinition().params.default.securityHubFindings).toBe('false');
    expect(template.Conditions[CONDITION]).toEqual({ 'Fn::Equals': ['false', 'true'] });
  });

  it('creates the function, its role, stream mapping, log group, versions and alarms only under the condition', () => {
    // Assess
    expect(own.map(([, resource]) => resource.Type).sort()).toEqual(
      [
        'AWS::CloudWatch::Alarm',
        'AWS::CloudWatch::Alarm',
        'AWS::IAM::Role',
        'AWS::Lambda::EventSourceMapping',
        'AWS::Lambda::Function',
        'AWS::Lambda::Version',
        'AWS::Logs::LogGroup',
      ].sort(),
    );
    for (const [id, resource] of own) expect([id, resource.Condition]).toEqual([id, CONDITION]);
    // Nothing deployed without the condition may refer to what exists only with it (a condition
    // that requires it, such as SecurityHubFindingsInOrganisation, is that condition too).
    const conditional = own.map(([id]) => id);
    const implies = (name: string | undefined) =>
      name === CONDITION ||
      JSON.stringify(template.Conditions[name ?? ''] ?? null).includes(`{"Condition":"${CONDITION}"}`);
    const dangling = Object.entries(resources)
      .filter(([, resource]) => !implies(resource.Condition))
      .filter(([, resource]) => conditional.some((id) => mentions(resource, id)))
      .map(([id]) => id);
    expect(dangling).toEqual([]);
    for (const [name, output] of Object.entries(template.Outputs ?? {}))
      if (conditional.some((id) => mentions(output.Value, id)))
        expect([name, output.Condition]).toEqual([name, CONDITION]);
  });

  it('reads the stream, reports failed records one by one and dead-letters what never succeeds', () => {
    // Prepare
    const [, mapping] = own.find(([, resource]) => resource.Type === 'AWS::Lambda::EventSourceMapping') ?? [];
    // Assess
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['IncidentTable', 'StreamArn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 100,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
    });
  });

  describe("the function's role", () => {
    const role = resources.SecurityHubFindingsRole?.Properties;
    const statements = ((role?.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
    const allowed = statements.filter((statement) => statement.Effect === 'Allow');

    it('holds no Security Hub action but BatchImportFindings and BatchUpdateFindings, and nothing else beyond its stream, dead letters, key and logs', () => {
      // Assess
      expect(role?.PermissionsBoundary).toEqual({ Ref: 'ResponderBoundary' });
      expect([...new Set(allowed.flatMap(actionsOf))].sort()).toEqual(
        [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
          'securityhub:BatchImportFindings',
          'securityhub:BatchUpdateFindings',
          'sqs:SendMessage',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
        ].sort(),
      );
      expect(allowed.flatMap(actionsOf).filter((action) => action.includes('*'))).toEqual([]);
    });

    it("imports only this account's findings, into this account's default product", () => {
      // Prepare
      const imports = allowed.filter((statement) =>
        actionsOf(statement).includes('securityhub:BatchImportFindings'),
      );
      // Assess
      expect(imports).toHaveLength(1);
      expect(imports[0]).toMatchObject({
        Resource: sub(
          'arn:{AWS::Partition}:securityhub:{AWS::Region}:{AWS::AccountId}:product/{AWS::AccountId}/default',
        ),
        Condition: { StringEquals: { 'securityhub:TargetAccount': { Ref: 'AWS::AccountId' } } },
      });
    });

    it('moves only the workflow, in this hub, and may never set a field people own in Security Hub', () => {
      // Prepare
      const updates = allowed.filter((statement) =>
        actionsOf(statement).includes('securityhub:BatchUpdateFindings'),
      );
      const denied = statements
        .filter(
          (statement) =>
            statement.Effect === 'Deny' && actionsOf(statement).includes('securityhub:BatchUpdateFindings'),
        )
        .flatMap((statement) => Object.entries(statement.Condition?.Null ?? {}))
        // Keys in one block must all match: each field needs a statement of its own to be denied alone.
        .map(([key, value]) => [key.replace('securityhub:ASFFSyntaxPath/', ''), value]);
      // Assess
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({
        Resource: sub('arn:{AWS::Partition}:securityhub:{AWS::Region}:{AWS::AccountId}:hub/default'),
        Condition: { StringEquals: { 'securityhub:ASFFSyntaxPath/Workflow.Status': expect.any(Array) } },
      });
      expect(Object.fromEntries(denied)).toEqual(
        Object.fromEntries(
          [
            'Severity.Label',
            'Note.Text',
            'VerificationState',
            'Confidence',
            'Criticality',
            'Types',
            'UserDefinedFields',
            // Severity's other parts, and related findings whole or by the parts a request names.
            'Severity.Normalized',
            'Severity.Product',
            'RelatedFindings',
            'RelatedFindings.Id',
            'RelatedFindings.ProductArn',
          ].map((field) => [field, 'false']),
        ),
      );
      expect(
        statements
          .filter((statement) => statement.Effect === 'Deny' && statement.Condition?.Null)
          .every((statement) => Object.keys(statement.Condition?.Null ?? {}).length === 1),
      ).toBe(true);
    });

    it("can never suppress a finding: not another product's (GuardDuty, Inspector) on the hub, nor its own", () => {
      // Prepare
      const updates = allowed.filter((statement) =>
        actionsOf(statement).includes('securityhub:BatchUpdateFindings'),
      );
      const suppressDenies = statements.filter(
        (statement) =>
          statement.Effect === 'Deny' &&
          actionsOf(statement).includes('securityhub:BatchUpdateFindings') &&
          statement.Resource === '*' &&
          Object.keys(statement.Condition ?? {}).length === 1 &&
          JSON.stringify(statement.Condition?.StringEquals) ===
            JSON.stringify({ 'securityhub:ASFFSyntaxPath/Workflow.Status': 'SUPPRESSED' }),
      );
      // Assess
      expect(suppressDenies).toHaveLength(1);
      expect(updates[0]?.Condition?.StringEquals?.['securityhub:ASFFSyntaxPath/Workflow.Status']).toEqual([
        'NEW',
        'NOTIFIED',
        'RESOLVED',
      ]);
    });
  });
});
