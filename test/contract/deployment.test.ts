import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rulePartitions, sweepQueueId } from '../../scripts/lib/deployment';
import { rules } from '../../shared/rules';
import { Stack } from '../../shared/rules/rule';

/**
 * The deployment follows from the registry: serverless.yml names no rule, and what the packaged
 * stack grants each rule's role is, statement for statement, what the rule module declares.
 */

const ROOT = join(__dirname, '..', '..');
const TEMPLATE = join(ROOT, '.serverless', 'cloudformation-template-update-stack.json');
/** The stack `npm run test:template` packages (`--stage dev`). */
const STACK_NAME = 'compliance-responder-dev';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function packagedTemplate(): Record<string, Resource> {
  if (!existsSync(TEMPLATE))
    throw new Error('run `npx serverless package --stage dev --region us-east-1` first');
  return (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

const listOf = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A template value read back as the placeholder text a rule declares (`${IncidentTable.Arn}`, ...). */
function asDeclared(value: unknown): string {
  if (typeof value === 'string') return value.replaceAll(STACK_NAME, Stack.name);
  const intrinsic = value as { Ref?: string; 'Fn::GetAtt'?: string[]; 'Fn::Sub'?: string };
  if (intrinsic.Ref) return `\${${intrinsic.Ref}}`;
  if (intrinsic['Fn::GetAtt']) return `\${${intrinsic['Fn::GetAtt'].join('.')}}`;
  if (intrinsic['Fn::Sub']) return asDeclared(intrinsic['Fn::Sub']);
  throw new Error(`unexpected template value ${JSON.stringify(value)}`);
}

const pascal = (id: string) =>
  id.replace(/(^|-)([a-z0-9])/g, (_whole, _dash, letter: string) => letter.toUpperCase());
const camel = (id: string) => pascal(id).replace(/^./, (first) => first.toLowerCase());

describe('serverless.yml', () => {
  const source = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');

  it.each(rules.map((rule) => [rule.id]))(
    'names no part of %s: its deployment follows from the registry',
    (id) => {
      // Assess: the function key, the role and resource names, the mode parameter
      // (as a word: EC2's ec2:GetEbsEncryptionByDefault is AWS's name, not the rule's)
      const named = (spelling: string) => new RegExp(`(?<![A-Za-z0-9])${spelling}(?![a-z0-9])`).test(source);
      expect([id, pascal(id), camel(id)].filter(named)).toEqual([]);
    },
  );
});

describe("each rule's role in the packaged template", () => {
  const resources = packagedTemplate();

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: grants exactly the statements its rule declares, inside the boundary, with the pipeline policy',
    (id, rule) => {
      // Prepare
      const fn =
        resources[`${id.replace(/-/g, 'Dash').replace(/^./, (first) => first.toUpperCase())}LambdaFunction`];
      if (!fn) throw new Error(`no function ${id} in the template`);
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const role = resources[roleId]?.Properties ?? {};
      const policies = role.Policies as { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[];
      // Act
      const granted = policies.flatMap((policy) =>
        policy.PolicyDocument.Statement.map((statement) => ({
          sid: statement.Sid,
          effect: statement.Effect,
          actions: listOf(statement.Action),
          resources: listOf(statement.Resource).map(asDeclared),
          conditions: statement.Condition,
        })),
      );
      // Assess
      expect(role.PermissionsBoundary).toEqual({ Ref: 'ResponderBoundary' });
      expect(role.ManagedPolicyArns).toEqual([{ Ref: 'PipelinePolicy' }]);
      expect(policies.map((policy) => policy.PolicyName)).toEqual([`rule-${id}`]);
      const [ownWrites, ownQueue, ...declared] = granted;
      expect(ownWrites).toEqual({
        sid: 'WriteOnlyThisRulesItems',
        effect: 'Allow',
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [Stack.arn('IncidentTable')],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': rulePartitions(rule) } },
      });
      expect(ownQueue).toEqual({
        sid: 'SweepUnitsOnlyOnThisRulesQueue',
        effect: 'Allow',
        actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [Stack.arn(sweepQueueId(rule))],
        conditions: undefined,
      });
      expect(declared).toEqual(
        rule.permissions.map((statement) => ({
          sid: statement.sid,
          effect: 'Allow',
          actions: statement.actions,
          resources: statement.resources ?? ['*'],
          conditions: statement.conditions,
        })),
      );
    },
  );
});
