import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ORGANISATION_SERVICES, PIPELINE_SERVICES } from '../../scripts/lib/bundle-clients';
import { roleName } from '../../scripts/lib/deployment';
import { readServerlessDefinition } from '../../scripts/lib/serverless-template';
import { modeVariable } from '../../shared/config';
import { rules } from '../../shared/rules';
import { actionsOf, organisationActionsOf } from '../../shared/rules/rule';

const ROOT = join(__dirname, '..', '..');
const TEMPLATE = join(ROOT, '.serverless', 'cloudformation-template-update-stack.json');

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

/** The packaged template, which `npm run test:template` produces just before these tests. */
function packagedTemplate(): Record<string, Resource> {
  if (!existsSync(TEMPLATE))
    throw new Error('run `npx serverless package --stage dev --region us-east-1` first');
  return (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

/** The fields of an EventBridge pattern these tests read. */
interface RoutedPattern {
  'detail-type'?: string[];
  detail?: {
    eventName?: string[];
    userIdentity?: { sessionContext?: { sessionIssuer?: { arn?: unknown[] } } };
    messageType?: string[];
    configurationItem?: { resourceType?: string[] };
    configurationItemSummary?: { resourceType?: string[] };
  };
}

const statementActions = (statements: Statement[]): string[] =>
  statements.flatMap((statement) =>
    Array.isArray(statement.Action) ? statement.Action : [statement.Action],
  );

/** serverless names a function's resources from its key: ebs-encryption-by-default → EbsDashencryption... */
const logicalName = (functionName: string) =>
  functionName.replace(/-/g, 'Dash').replace(/^./, (first) => first.toUpperCase());

describe('the rule registry', () => {
  const definition = readServerlessDefinition();

  it('lists each rule once, with an id, HIPAA citations and a runbook that exists', () => {
    // Assess
    expect(new Set(rules.map((rule) => rule.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^[a-z][a-z0-9-]+$/);
      expect(rule.hipaa.length).toBeGreaterThan(0);
      for (const citation of rule.hipaa)
        expect(citation).toMatch(/^164\.3\d\d\(([a-z0-9]+|[ivx]+)\)(\([a-z0-9ivx]+\))*(\([A-Z]\))?$/);
      expect(rule.runbook).toBe(`docs/runbooks/${rule.id}.md`);
      expect(existsSync(join(ROOT, rule.runbook))).toBe(true);
    }
  });

  it('gives every rule its own thin function, role and mode parameter in the deployment', () => {
    for (const rule of rules) {
      // Assess
      const fn = definition.functions[rule.id];
      expect(fn?.handler).toBe(`functions/${rule.id}.handler`);
      expect(readFileSync(join(ROOT, 'functions', `${rule.id}.ts`), 'utf8')).toContain(
        `export const handler = ruleHandler(`,
      );
      expect(fn?.environment).toHaveProperty(modeVariable(rule.id));
      expect(fn?.role).toBeDefined();
    }
  });
});

describe('least privilege in the packaged template', () => {
  const resources = packagedTemplate();

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    "gives %s's role exactly its rule's permissions plus the pipeline policy",
    (id, rule) => {
      // Prepare
      const fn = resources[`${logicalName(id)}LambdaFunction`];
      if (!fn) throw new Error(`no function ${id} in the template`);
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const role = resources[roleId];
      // Assess
      expect(role?.Type).toBe('AWS::IAM::Role');
      expect(role?.Properties.ManagedPolicyArns).toEqual([{ Ref: 'PipelinePolicy' }]);
      const policies = role?.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[];
      const granted = statementActions(
        policies
          .flatMap((policy) => policy.PolicyDocument.Statement)
          // The table writes every rule's role holds, in its own partitions (test/contract/iam.test.ts).
          .filter((statement) => statement.Sid !== 'WriteOnlyThisRulesItems')
          // Its own sweep queue's units, every rule's role (test/contract/sweep-units.test.ts).
          .filter((statement) => statement.Sid !== 'SweepUnitsOnlyOnThisRulesQueue'),
      );
      // An action may appear in two statements (e.g. ec2:CreateTags under two different conditions).
      expect([...new Set(granted)].sort()).toEqual(actionsOf(rule).sort());
    },
  );

  it("bundles the pipeline's clients only for services the pipeline policy grants (scripts/lib/bundle-clients.ts)", () => {
    // Prepare
    const policy = resources.PipelinePolicy?.Properties.PolicyDocument as
      | { Statement: Statement[] }
      | undefined;
    const services = new Set(statementActions(policy?.Statement ?? []).map((action) => action.split(':')[0]));
    // Assess
    expect([...services]).toEqual(expect.arrayContaining([...PIPELINE_SERVICES]));
  });

  it.each(rules.filter((rule) => rule.homeStackOnly === undefined).map((rule) => [rule.id, rule] as const))(
    "bundles %s's organisation clients only for services its act-in-member-accounts policy grants",
    (_id, rule) => {
      // Prepare
      const access = resources[`${roleName(rule).replace(/Role$/, '')}MemberAccess`];
      const policy = access?.Properties.PolicyDocument as { Statement: Statement[] } | undefined;
      const services = new Set(
        statementActions(policy?.Statement ?? []).map((action) => action.split(':')[0]),
      );
      // Assess
      expect([...services].sort()).toEqual([...ORGANISATION_SERVICES].sort());
    },
  );

  // Self-protection and the heartbeat compare each function with the version its deployment published.
  it('publishes a version of every function on each deploy: the record a changed configuration is compared with', () => {
    // Prepare
    const functions = Object.entries(resources).filter(
      ([, resource]) => resource.Type === 'AWS::Lambda::Function',
    );
    const versioned = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::Lambda::Version')
      .map((resource) => (resource.Properties.FunctionName as { Ref: string }).Ref);
    // Assess
    expect(functions.length).toBeGreaterThan(0);
    expect(versioned.sort()).toEqual(functions.map(([logicalId]) => logicalId).sort());
  });

  it('lets the heartbeat read the stream mappings of the incident exports (no resource-level permission exists), within the boundary', () => {
    // Prepare
    const role = resources.HeartbeatRole?.Properties.Policies as {
      PolicyDocument: { Statement: Statement[] };
    }[];
    const statements = role.flatMap((policy) => policy.PolicyDocument.Statement);
    const boundary = (
      resources.ResponderBoundary?.Properties.PolicyDocument as { Statement: Statement[] } | undefined
    )?.Statement;
    // Assess: only a read, alone in its statement (its Resource '*' reaches no other action)
    const reading = statements.filter((statement) =>
      statementActions([statement]).includes('lambda:ListEventSourceMappings'),
    );
    expect(reading.map((statement) => [statementActions([statement]), statement.Resource])).toEqual([
      [['lambda:ListEventSourceMappings'], '*'],
    ]);
    expect(statementActions(boundary ?? [])).toContain('lambda:ListEventSourceMappings');
  });

  it('never lets a role rewrite functions or pass roles: self-protection pages on those instead', () => {
    // Prepare
    const granted = Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::IAM::Role')
      .flatMap((resource) =>
        statementActions(
          (
            resource.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined
          )?.flatMap((policy) => policy.PolicyDocument.Statement) ?? [],
        ),
      );
    // Assess
    expect(
      granted.filter((action) =>
        /^(lambda:(UpdateFunction|PublishVersion|PutFunctionConcurrency|(Create|Update|Delete)EventSourceMapping)|iam:PassRole)/.test(
          action,
        ),
      ),
    ).toEqual([]);
  });

  it('grants no wildcard actions, and destroys only its own records or originals it quarantined', () => {
    // Prepare: what is allowed (a boundary's denials may use wildcards: they take away, never grant)
    const allowed = Object.values(resources).flatMap((resource) => {
      if (resource.Type === 'AWS::IAM::Role') {
        return (
          (
            resource.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined
          )?.flatMap((policy) => policy.PolicyDocument.Statement) ?? []
        );
      }
      if (resource.Type === 'AWS::IAM::ManagedPolicy') {
        return (resource.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      }
      return [];
    });
    const statements = allowed.filter((statement) => statement.Effect === 'Allow');
    // Assess
    const actions = statementActions(statements);
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    // Destroying is allowed only on the responder's own records, or on originals it quarantined.
    // DeleteFunctionConcurrency removes a limit (self-protection undoing a concurrency of 0): not destructive.
    const destroys = (action: string) =>
      /:(Delete|Terminate)/.test(action) && action !== 'lambda:DeleteFunctionConcurrency';
    const destructive = statements.filter((statement) => statementActions([statement]).some(destroys));
    for (const statement of destructive) {
      const onlyOwnRecords = statementActions([statement])
        .filter(destroys)
        .every((action) => action === 'dynamodb:DeleteItem');
      const onlyQuarantined = JSON.stringify(statement).includes(
        'aws:ResourceTag/compliance-responder:quarantined',
      );
      // Removing tags, only the responder's own keys (undoing the tag it set): no customer data.
      const onlyOwnTags =
        statementActions([statement])
          .filter(destroys)
          .every((action) => action === 'ec2:DeleteTags') &&
        JSON.stringify(statement.Condition ?? {}) ===
          JSON.stringify({ 'ForAllValues:StringLike': { 'aws:TagKeys': ['compliance-responder:*'] } });
      // Deleting a sweep unit it consumed, only on the sweep queues (a message, no customer data).
      const onlyOwnUnits =
        statementActions([statement])
          .filter(destroys)
          .every((action) => action === 'sqs:DeleteMessage') &&
        [statement.Resource].flat().every((resource) => /SweepQueue|-sweep"/.test(JSON.stringify(resource)));
      expect([
        statementActions([statement]),
        onlyOwnRecords || onlyQuarantined || onlyOwnTags || onlyOwnUnits,
      ]).toEqual([statementActions([statement]), true]);
    }
    expect(actions.some((action) => action.startsWith('ec2:Terminate'))).toBe(false);
  });

  /** The EventBridge patterns of one detail type that the stack routes to a rule's function. */
  const patternsOf = (ruleId: string, detailType: string) => {
    const target = `${logicalName(ruleId)}LambdaFunction`;
    return Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::Events::Rule')
      .filter((resource) => JSON.stringify(resource.Properties.Targets).includes(target))
      .map((resource) => resource.Properties.EventPattern as RoutedPattern)
      .filter((pattern) => pattern?.['detail-type']?.includes(detailType));
  };

  it('routes to each function exactly the CloudTrail events its rule declares', () => {
    for (const rule of rules) {
      // Prepare: the loop guard's exception (ownCalls) is routed by its own patterns, by actor
      const patterns = patternsOf(rule.id, 'AWS API Call via CloudTrail');
      const byActor = patterns.filter((pattern) => pattern.detail?.userIdentity);
      const byCall = patterns.filter((pattern) => !pattern.detail?.userIdentity);
      // Assess
      const routed = byCall.flatMap((pattern) => pattern.detail?.eventName ?? []);
      // An organisation deployment's own routing (Rule.organisation) is among them, under IsOrganisation.
      const organisation = (rule.organisation?.cloudTrail ?? []).flatMap((filter) => filter.eventNames);
      expect(routed.sort()).toEqual(
        [...(rule.triggers.cloudTrail?.eventNames ?? []), ...organisation].sort(),
      );
      const routedOwn = byActor.flatMap((pattern) => pattern.detail?.eventName ?? []);
      // ...but those only an organisation routes, whoever made them (its filter on the default bus)
      expect(routedOwn.sort()).toEqual(
        (rule.ownCalls?.eventNames ?? []).filter((name) => !organisation.includes(name)).sort(),
      );
    }
  });

  it("routes the responder's own calls only when the session issuer is one of the rules' roles, every one of them", () => {
    // Prepare
    const ruleRoles = rules.map(roleName).sort();
    const own = rules.flatMap((rule) =>
      patternsOf(rule.id, 'AWS API Call via CloudTrail').filter((pattern) => pattern.detail?.userIdentity),
    );
    // Assess: no person's role (on-call, approver) is among them, so a person's undo is not judged
    expect(own.length).toBeGreaterThan(0);
    for (const pattern of own) {
      const issuers = pattern.detail?.userIdentity?.sessionContext?.sessionIssuer?.arn ?? [];
      const roles = issuers.map((issuer) => (issuer as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).sort();
      expect(roles).toEqual(ruleRoles);
    }
    expect(ruleRoles.map((logicalId) => resources[logicalId]?.Type)).toEqual(
      ruleRoles.map(() => 'AWS::IAM::Role'),
    );
  });

  it("routes to each function Config's item changes of exactly the resource types its rule declares", () => {
    for (const rule of rules) {
      // Prepare: the account-level pseudo type has no item-change events (Config's periodic rule covers it)
      const declared = (rule.triggers.configResourceTypes ?? []).filter(
        (type) => !type.startsWith('AWS::::'),
      );
      const patterns = patternsOf(rule.id, 'Config Configuration Item Change');
      const routed = (messageType: string) =>
        patterns
          .filter((pattern) => pattern.detail?.messageType?.includes(messageType))
          .flatMap(
            (pattern) =>
              pattern.detail?.configurationItem?.resourceType ??
              pattern.detail?.configurationItemSummary?.resourceType ??
              [],
          )
          .sort();
      // Assess: full items and oversized summaries alike
      expect({ rule: rule.id, routed: routed('ConfigurationItemChangeNotification') }).toEqual({
        rule: rule.id,
        routed: [...declared].sort(),
      });
      expect({ rule: rule.id, routed: routed('OversizedConfigurationItemChangeNotification') }).toEqual({
        rule: rule.id,
        routed: [...declared].sort(),
      });
    }
  });

  it('keeps the incident table, its key and its data safe from a stack delete', () => {
    // Assess
    const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as {
      Resources: Record<string, Record<string, unknown>>;
    };
    for (const id of ['IncidentTable', 'ResponderKey']) {
      expect(template.Resources[id]).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
    expect(resources.IncidentTable?.Properties).toMatchObject({
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    expect(resources.ResponderKey?.Properties.EnableKeyRotation).toBe(true);
  });
});

describe('least privilege against what the functions really sent', () => {
  const RECORDS = join(ROOT, '.local', 'test-results', 'sent-actions');
  const resources = packagedTemplate();
  const policy = resources.PipelinePolicy;
  if (!policy) throw new Error('no PipelinePolicy in the template');
  const pipeline = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
  /** The table writes the rule's role holds besides its declared statements (scripts/lib/deployment.ts). */
  const ownItemWrites = (id: string): Statement[] => {
    const fn = resources[`${logicalName(id)}LambdaFunction`];
    const roleId = (fn?.Properties.Role as { 'Fn::GetAtt': [string, string] } | undefined)?.['Fn::GetAtt'][0];
    const policies = (roleId && resources[roleId]?.Properties.Policies) as
      | { PolicyDocument: { Statement: Statement[] } }[]
      | undefined;
    return (policies ?? [])
      .flatMap((policy) => policy.PolicyDocument.Statement)
      .filter((statement) => statement.Sid === 'WriteOnlyThisRulesItems');
  };
  // AWS authorises a transaction by the item actions inside it: it has no IAM action of its own.
  const ITEM_ACTIONS: Readonly<Record<string, readonly string[]>> = {
    'dynamodb:TransactWriteItems': ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
  };
  // Actions AWS authorises only on "*" (no resource-level permissions).
  const UNSCOPABLE = [
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'config:PutEvaluations',
    'config:GetResourceConfigHistory',
    'ec2:DescribeRegions',
  ];

  // Figures for docs/reliability.md (scripts/reliability-report.ts), written only once the checks pass.
  const checked: { rule: string; sent: number; declared: number }[] = [];
  afterAll(() => {
    const roles = rules.length;
    const dir = join(ROOT, '.local', 'test-results', 'reliability');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'permissions.json'), `${JSON.stringify({ roles, rules: checked }, null, 2)}\n`);
  });

  // `npm test` runs the reliability suite first (from a clean .local/test-results), so there this
  // always runs; `npm run test:template` alone, on a fresh clone, has no records and says so.
  const withRecords = existsSync(RECORDS) ? it : it.skip;
  if (!existsSync(RECORDS))
    console.warn('skipped: no reliability records yet (`npm run test:reliability` writes them)');

  withRecords('holds, for every rule, each AWS action its function sent in the reliability runs', () => {
    // Prepare: the per-rule records test/reliability/fault-suite.ts writes from its proxy's log.
    // Every function that has a rule must have been recorded, so the claim cannot silently shrink:
    // a rule added since the last reliability run fails here until `npm run test:reliability` runs.
    const unrecorded = rules.filter((rule) => !existsSync(join(RECORDS, `${rule.id}.json`)));
    expect(unrecorded.map((rule) => rule.id)).toEqual([]);
    for (const rule of rules) {
      const sent = JSON.parse(readFileSync(join(RECORDS, `${rule.id}.json`), 'utf8')) as string[];
      const ownWrites = ownItemWrites(rule.id);
      const granted = new Set([
        ...actionsOf(rule),
        ...organisationActionsOf(rule),
        ...statementActions([...pipeline, ...ownWrites]),
      ]);
      // Assess
      const missing = sent.filter(
        (action) => !(ITEM_ACTIONS[action] ?? [action]).every((a) => granted.has(a)),
      );
      expect([rule.id, missing]).toEqual([rule.id, []]);
      checked.push({ rule: rule.id, sent: sent.length, declared: actionsOf(rule).length });
    }
  });

  it('scopes every pipeline permission to the stack resource it serves, where AWS allows', () => {
    // Assess
    const unscoped = pipeline.filter((statement) => JSON.stringify(statement.Resource) === '"*"');
    expect(statementActions(unscoped).filter((action) => !UNSCOPABLE.includes(action))).toEqual([]);
  });
});
