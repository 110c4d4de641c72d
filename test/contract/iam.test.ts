import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOUNDED_WITH_CONDITIONS, roleName } from '../../scripts/lib/deployment';
import { rules } from '../../shared/rules';
import { REVOKE_ATTRIBUTES } from '../../shared/ssh/grant-ledger';

/**
 * The limits IAM enforces for the responder, proven on the packaged templates (moto enforces no IAM,
 * so no integration test can show AWS refusing a call): every role is bounded by a policy the stack
 * creates, tags go on with the responder's own keys only (or only on what it creates), table writes
 * reach only the items the functions own, and KMS grants go only to AWS services.
 */
const ROOT = join(__dirname, '..', '..');
const TEMPLATES = {
  home: join(ROOT, '.serverless', 'cloudformation-template-update-stack.json'),
  forwarder: join(ROOT, '.local', 'serverless-forwarder', 'cloudformation-template-update-stack.json'),
};

type Condition = Record<string, Record<string, unknown>>;
interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Condition;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
type PolicyDocument = { Statement: Statement[] };

function resourcesOf(path: string): Record<string, Resource> {
  if (!existsSync(path)) throw new Error('run `bash scripts/template-check.sh` first');
  return (JSON.parse(readFileSync(path, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** The item writes DynamoDB authorises (a transaction is authorised by the item actions inside it). */
const ITEM_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
/** The partitions the functions write: incidents, delivery markers, drift locks, guard state. */
const FUNCTION_PARTITIONS = ['INCIDENT#*', 'DELIVERY#*', 'DRIFT#*', 'GUARD'];
/** The deployment history the report reads its modes from: the heartbeat's alone (shared/health/deployment-history.ts). */
const DEPLOYMENT_HISTORY = 'DEPLOYMENT#history';
/** Where a write of the deployment history may be allowed: the heartbeat's role, and the boundary that caps it. */
const isHeartbeats = (where: string) =>
  /^(HeartbeatRole\/|ResponderBoundary\/HeartbeatRecordsTheDeployment$)/.test(where);
/** The member stacks' last-seen items (shared/health/member-heartbeat.ts): the member-heartbeat function's alone. */
const MEMBER_HEARTBEATS = 'HEARTBEAT#MEMBER';
const isMemberHeartbeats = (where: string) =>
  /^(MemberHeartbeatRole\/|ResponderBoundary\/MemberHeartbeatsRecordLastSeen$)/.test(where);

/** IAM action matching: `*` and `?` wildcards, case-insensitive. */
const matches = (pattern: string, action: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(action);
const allows = (statement: Statement, action: string) =>
  statement.Effect === 'Allow' && actionsOf(statement).some((pattern) => matches(pattern, action));

/** A condition's values under an operator (e.g. ForAllValues:StringLike) and key, case-insensitive key. */
function conditionValues(statement: Statement, operator: string, key: string): string[] | undefined {
  const block = statement.Condition?.[operator];
  if (!block) return undefined;
  const found = Object.entries(block).find(([name]) => name.toLowerCase() === key.toLowerCase());
  return found ? listOf(found[1]).map(String) : undefined;
}

describe.each(Object.entries(TEMPLATES))('IAM in the packaged %s template', (stack, path) => {
  const resources = resourcesOf(path);
  const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
  const roles = ofType('AWS::IAM::Role');
  const boundaries = new Set(
    roles.map(([, role]) => JSON.stringify(role.Properties.PermissionsBoundary ?? null)),
  );
  const isBoundary = (id: string) => boundaries.has(JSON.stringify({ Ref: id }));

  /** A role's policies: inline, and those added to it by AWS::IAM::RolePolicy (an organisation deployment's). */
  const policiesOf = (id: string, role: Resource) => [
    ...((role.Properties.Policies ?? []) as { PolicyName: string; PolicyDocument: PolicyDocument }[]),
    ...ofType('AWS::IAM::RolePolicy')
      .filter(([, policy]) => JSON.stringify(policy.Properties.RoleName) === JSON.stringify({ Ref: id }))
      .map(([, policy]) => policy.Properties as { PolicyName: string; PolicyDocument: PolicyDocument }),
  ];

  /** Every statement that grants (inline, role policies, attached managed policies) or caps (boundaries). */
  const statements: { where: string; statement: Statement }[] = [
    ...roles.flatMap(([id, role]) =>
      policiesOf(id, role).flatMap((policy) =>
        policy.PolicyDocument.Statement.map((statement) => ({
          where: `${id}/${policy.PolicyName}/${statement.Sid ?? '?'}`,
          statement,
        })),
      ),
    ),
    ...ofType('AWS::IAM::ManagedPolicy').flatMap(([id, policy]) =>
      (policy.Properties.PolicyDocument as PolicyDocument).Statement.map((statement) => ({
        where: `${id}/${statement.Sid ?? '?'}`,
        statement,
      })),
    ),
  ];
  const allowing = (action: string) => statements.filter(({ statement }) => allows(statement, action));
  /** The roles people assume to run the CLI's changes, and their boundary (not the functions'). */
  const isOperators = (where: string) => /^(OnCallRole|ApproverRole|OperatorBoundary)\//.test(where);

  it('bounds every role with a managed policy the stack creates', () => {
    // Assess
    expect(roles.length).toBeGreaterThan(0);
    for (const [id, role] of roles) {
      const boundary = (role.Properties.PermissionsBoundary as { Ref?: string } | undefined)?.Ref;
      expect([id, boundary && resources[boundary]?.Type]).toEqual([id, 'AWS::IAM::ManagedPolicy']);
    }
  });

  it("lets every role's boundary hold each action the role is granted (else AWS refuses it where moto does not)", () => {
    for (const [id, role] of roles) {
      // Prepare
      const boundaryId = (role.Properties.PermissionsBoundary as { Ref?: string } | undefined)?.Ref ?? '';
      const boundary = resources[boundaryId]?.Properties.PolicyDocument as PolicyDocument | undefined;
      const attached = listOf(role.Properties.ManagedPolicyArns ?? [])
        .map((arn) => (arn as { Ref?: string }).Ref ?? '')
        .map((policyId) => resources[policyId]?.Properties.PolicyDocument as PolicyDocument | undefined);
      const inline = policiesOf(id, role).map((policy) => policy.PolicyDocument);
      const granted = [...attached, ...inline]
        .flatMap((document) => document?.Statement ?? [])
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap(actionsOf);
      // Assess
      const capped = granted.filter(
        (action) =>
          !boundary?.Statement.some((statement) => allows(statement, action)) ||
          boundary.Statement.some(
            (statement) =>
              statement.Effect === 'Deny' &&
              statement.Condition === undefined &&
              statement.Resource === '*' &&
              actionsOf(statement).some((pattern) => matches(pattern, action)),
          ),
      );
      expect([id, capped]).toEqual([id, []]);
    }
  });

  it('allows in the boundary, under conditions only, exactly the actions its generated list leaves out', () => {
    // The forwarder carries no rule, so none of the rules' boundary
    if (stack !== 'home') {
      expect(resources.ResponderBoundary).toBeUndefined();
      return;
    }
    // Prepare: the boundary's Allow statements that carry conditions of their own
    const boundary = resources.ResponderBoundary?.Properties.PolicyDocument as PolicyDocument;
    const conditioned = boundary.Statement.filter(
      (statement) => statement.Effect === 'Allow' && statement.Condition !== undefined,
    )
      .flatMap(actionsOf)
      .filter((action) => !ITEM_WRITES.includes(action));
    // Assess: a conditioned action also in the unconditioned list would make its conditions moot
    expect([...new Set(conditioned)].sort()).toEqual([...BOUNDED_WITH_CONDITIONS].sort());
    const unconditioned = boundary.Statement.filter(
      (statement) => statement.Effect === 'Allow' && statement.Condition === undefined,
    ).flatMap(actionsOf);
    expect(unconditioned.filter((action) => BOUNDED_WITH_CONDITIONS.includes(action))).toEqual([]);
  });

  it('denies in every boundary IAM writes, passing roles and rewriting functions', () => {
    const bounding = Object.entries(resources).filter(([id]) => isBoundary(id));
    expect(bounding.length).toBeGreaterThan(0);
    for (const [id, boundary] of bounding) {
      // Prepare
      const denied = (boundary.Properties.PolicyDocument as PolicyDocument).Statement.filter(
        (statement) => statement.Effect === 'Deny' && statement.Condition === undefined,
      );
      const refused = (action: string) =>
        denied.some((statement) => actionsOf(statement).some((pattern) => matches(pattern, action)));
      // Assess
      const open = [
        'iam:PassRole',
        'iam:PutRolePolicy',
        'iam:AttachRolePolicy',
        'iam:DeleteRolePermissionsBoundary',
        'iam:CreateAccessKey',
        'iam:UpdateAssumeRolePolicy',
        'lambda:UpdateFunctionConfiguration',
        'lambda:UpdateFunctionCode',
      ].filter((action) => !refused(action));
      expect([id, open]).toEqual([id, []]);
    }
  });

  it("tags existing resources with the responder's own keys only, any other key only on what it creates", () => {
    for (const { where, statement } of allowing('ec2:CreateTags')) {
      // Prepare: a tag-key condition that every requested key must meet
      const ownKeys = [
        ...(conditionValues(statement, 'ForAllValues:StringEquals', 'aws:TagKeys') ?? []),
        ...(conditionValues(statement, 'ForAllValues:StringLike', 'aws:TagKeys') ?? []),
      ];
      const anyKeyCondition =
        ownKeys.length > 0 ||
        conditionValues(statement, 'ForAllValues:StringNotLike', 'aws:TagKeys') !== undefined ||
        conditionValues(statement, 'ForAllValues:StringNotEquals', 'aws:TagKeys') !== undefined;
      const onCreateOnly = conditionValues(statement, 'StringEquals', 'ec2:CreateAction') ?? [];
      const onlyOwnKeys =
        ownKeys.length > 0 && ownKeys.every((key) => key.startsWith('compliance-responder:'));
      // Assess
      expect({ where, tagKeyCondition: anyKeyCondition }).toEqual({ where, tagKeyCondition: true });
      expect({ where, ownKeysOrOnCreate: onlyOwnKeys || onCreateOnly.length > 0 }).toEqual({
        where,
        ownKeysOrOnCreate: true,
      });
      // AuthorizeSecurityGroupIngress creates security-group rules (an SSH grant's, tagged as it is made).
      const creates = (action: string) =>
        (/^Create[A-Z]\w+$/.test(action) && action !== 'CreateTags') ||
        action === 'AuthorizeSecurityGroupIngress';
      expect(onCreateOnly.every(creates)).toBe(true);
    }
  });

  it('writes table items only in the partitions the functions own, never exemptions or grants', () => {
    // Prepare: a transaction is authorised per item action, so the item actions cover it; people's
    // roles are checked below
    const writes = ITEM_WRITES.flatMap(allowing).filter(({ where }) => !isOperators(where));
    // Assess
    for (const { where, statement } of writes) {
      const partitions = conditionValues(statement, 'ForAllValues:StringLike', 'dynamodb:LeadingKeys') ??
        conditionValues(statement, 'ForAllValues:StringEquals', 'dynamodb:LeadingKeys') ?? ['(any)'];
      const owned = isHeartbeats(where)
        ? [DEPLOYMENT_HISTORY]
        : isMemberHeartbeats(where)
          ? [MEMBER_HEARTBEATS]
          : FUNCTION_PARTITIONS;
      const outside = partitions.filter((key) => !owned.some((pattern) => matches(pattern, key)));
      expect({ where, partitions: outside }).toEqual({ where, partitions: [] });
    }
  });

  it('lets the heartbeat alone write the deployment history, and the member-heartbeat function alone the last-seen items', () => {
    if (stack !== 'home') {
      expect(resources.HeartbeatRole).toBeUndefined();
      return;
    }
    // Prepare: each role's grants, inline and attached (a boundary grants nothing)
    const grantsOf = (id: string, role: Resource): { where: string; statement: Statement }[] => [
      ...policiesOf(id, role).flatMap((policy) =>
        policy.PolicyDocument.Statement.map((statement) => ({
          where: `${id}/${policy.PolicyName}/${statement.Sid ?? '?'}`,
          statement,
        })),
      ),
      ...listOf(role.Properties.ManagedPolicyArns ?? []).flatMap((arn) => {
        const policyId = (arn as { Ref?: string }).Ref ?? '';
        const document = resources[policyId]?.Properties.PolicyDocument as PolicyDocument | undefined;
        return (document?.Statement ?? []).map((statement) => ({
          where: `${id} via ${policyId}/${statement.Sid ?? '?'}`,
          statement,
        }));
      }),
    ];
    const partitionsWritten = (grants: { statement: Statement }[]) =>
      grants
        .filter(({ statement }) => ITEM_WRITES.some((action) => allows(statement, action)))
        .flatMap(
          ({ statement }) =>
            conditionValues(statement, 'ForAllValues:StringLike', 'dynamodb:LeadingKeys') ??
            conditionValues(statement, 'ForAllValues:StringEquals', 'dynamodb:LeadingKeys') ?? ['*'],
        );
    const heartbeat = resources.HeartbeatRole as Resource;
    // Assess: the heartbeat's role writes that one key, and no other role (rule, pipeline, people) reaches it
    expect(partitionsWritten(grantsOf('HeartbeatRole', heartbeat))).toEqual([DEPLOYMENT_HISTORY]);
    for (const [id, role] of roles.filter(([id]) => id !== 'HeartbeatRole')) {
      const reaching = partitionsWritten(grantsOf(id, role)).filter((pattern) =>
        matches(pattern, DEPLOYMENT_HISTORY),
      );
      expect({ role: id, reaching }).toEqual({ role: id, reaching: [] });
    }
    // Assess: the member stacks' last-seen items likewise, the member-heartbeat function's alone
    const member = resources.MemberHeartbeatRole as Resource;
    expect(partitionsWritten(grantsOf('MemberHeartbeatRole', member))).toEqual([MEMBER_HEARTBEATS]);
    for (const [id, role] of roles.filter(([id]) => id !== 'MemberHeartbeatRole')) {
      const reaching = partitionsWritten(grantsOf(id, role)).filter((pattern) =>
        matches(pattern, MEMBER_HEARTBEATS),
      );
      expect({ role: id, reaching }).toEqual({ role: id, reaching: [] });
    }
  });

  it("lets each rule's function write only its own rule's drift locks and delivery markers", () => {
    if (stack !== 'home') return;
    for (const rule of rules) {
      // Prepare: keys another rule's items would have
      const others = rules.filter((other) => other.id !== rule.id);
      const writes = ITEM_WRITES.flatMap(allowing).filter(
        ({ where }) => where.startsWith(`${roleName(rule)}/`) || where.startsWith('PipelinePolicy/'),
      );
      const keys = writes.flatMap(
        ({ statement }) =>
          conditionValues(statement, 'ForAllValues:StringLike', 'dynamodb:LeadingKeys') ?? ['*'],
      );
      const reaches = (key: string) => keys.some((pattern) => matches(pattern, key));
      // Assess
      expect({
        rule: rule.id,
        own: [`DRIFT#${rule.id}`, `DELIVERY#${rule.id}#evt-1`].every(reaches),
      }).toEqual({
        rule: rule.id,
        own: true,
      });
      const foreign = others
        .flatMap((other) => [`DRIFT#${other.id}`, `DELIVERY#${other.id}#evt-1`])
        .filter(reaches);
      expect({ rule: rule.id, foreign }).toEqual({ rule: rule.id, foreign: [] });
    }
  });

  it("lets people write only what their role is for: approvers the ledgers and their grants' incidents (never a drift lock or delivery marker), on-call incidents and the guard, and of grants only their end", () => {
    // People's roles live in the home stack only: a forwarder has no table to write
    if (stack !== 'home') {
      expect([resources.OnCallRole, resources.ApproverRole, resources.OperatorBoundary]).toStrictEqual([
        undefined,
        undefined,
        undefined,
      ]);
      return;
    }
    // Prepare
    const partitionsOf = (role: string) =>
      ITEM_WRITES.flatMap(allowing)
        .filter(({ where }) => where.startsWith(`${role}/`))
        .flatMap(
          ({ statement }) =>
            conditionValues(statement, 'ForAllValues:StringLike', 'dynamodb:LeadingKeys') ?? ['(any)'],
        );
    // Assess
    expect([...new Set(partitionsOf('ApproverRole'))].sort()).toEqual(
      ['EXEMPT#*', 'EXEMPTION#*', 'EXEMPTIONS', 'GRANT#*', 'GRANTS', 'INCIDENT#*'].sort(),
    );
    expect(
      partitionsOf('OnCallRole').filter(
        (key) => !/^(INCIDENT#|DELIVERY#|DRIFT#|GUARD|EXEMPT|GRANT#\*$|GRANTS$)/.test(key),
      ),
    ).toEqual([]);
    // On-call ends grants (ssh revoke), never writes one: grant items only through an update of the
    // revoke's own attributes, so no target or expiry can be set
    const onCallGrantWrites = ITEM_WRITES.flatMap(allowing).filter(
      ({ where, statement }) =>
        where.startsWith('OnCallRole/') &&
        (conditionValues(statement, 'ForAllValues:StringLike', 'dynamodb:LeadingKeys') ?? ['(any)']).some(
          (key) => /^(GRANT|\(any\))/.test(key),
        ),
    );
    expect(
      onCallGrantWrites.map(({ statement }) => ({
        actions: listOf(statement.Action),
        attributes: conditionValues(statement, 'ForAllValues:StringEquals', 'dynamodb:Attributes')?.sort(),
      })),
    ).toEqual([{ actions: ['dynamodb:UpdateItem'], attributes: [...REVOKE_ATTRIBUTES].sort() }]);
    for (const role of ['OnCallRole', 'ApproverRole']) {
      const trust = JSON.stringify(resources[role]?.Properties.AssumeRolePolicyDocument);
      expect({ role, anyone: trust.includes('"*"') }).toEqual({ role, anyone: false });
      expect((resources[role]?.Properties.PermissionsBoundary as { Ref?: string } | undefined)?.Ref).toBe(
        'OperatorBoundary',
      );
    }
  });

  it('creates KMS grants only for AWS resources (EBS), never for a principal of its choosing', () => {
    for (const { where, statement } of allowing('kms:CreateGrant')) {
      // Assess
      expect({
        where,
        forAwsResource: conditionValues(statement, 'Bool', 'kms:GrantIsForAWSResource'),
      }).toEqual({
        where,
        forAwsResource: ['true'],
      });
    }
  });
});
