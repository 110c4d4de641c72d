import { readFileSync } from 'node:fs';
import { functionLogicalId, onCallActions, policyStatement, roleName } from '../../scripts/lib/deployment';
import {
  MEMBER_APPROVER_ROLE,
  MEMBER_ON_CALL_ROLE,
  memberLockdownStatements,
  memberOnCallActions,
  memberRoleLogicalId,
  memberRules,
  memberStatements,
} from '../../scripts/lib/member';
import { IMPORTER_ROLE_LOGICAL_ID } from '../../scripts/lib/member-importer';
import {
  MEMBER_HEARTBEAT_PK,
  MEMBER_HEARTBEAT_SCHEDULE,
  memberHeartbeatRuleName,
} from '../../shared/health/member-heartbeat';
import {
  approverRoleName,
  importerRoleName,
  memberApproverRoleName,
  memberOnCallRoleName,
  memberRoleName,
  onCallRoleName,
} from '../../shared/organisation/member-roles';
import { rules } from '../../shared/rules';
import { LOCKDOWN_RULES } from '../../shared/rules/lockdown';
import { actionsOf, GRANT_STATEMENTS, REVOKE_STATEMENTS } from '../../shared/ssh/grant-actions';
import {
  covers,
  HOME_TEMPLATE,
  type Json,
  ofType,
  type Pattern,
  packagedTemplate,
  patternsOf,
  type Resource,
  resourcesOf,
  strings,
  subscriptions,
  type Target,
  uncovered,
  withoutOrganisationRouting,
} from '../support/templates';

/** scripts/template-check.sh packages the member stack in eu-west-1 for security account 111111111111, home us-east-1. */
const MEMBER_TEMPLATE = packagedTemplate('serverless-member');
const SECURITY_ACCOUNT = '111111111111';
const HOME_REGION = 'us-east-1';
const HOME_STACK = 'compliance-responder-dev';
const SECURITY_BUS = {
  'Fn::Sub': `arn:\${AWS::Partition}:events:${HOME_REGION}:${SECURITY_ACCOUNT}:event-bus/default`,
};

interface Statement {
  Sid?: string;
  Effect: string;
  Action: Json;
  Resource: Json;
  Condition?: Json;
  Principal?: Json;
}
interface RoleProperties {
  RoleName: string;
  PermissionsBoundary: Json;
  AssumeRolePolicyDocument: { Statement: Statement[] };
  Policies: { PolicyName?: string; PolicyDocument: { Statement: Statement[] } }[];
  ManagedPolicyArns?: Json;
}

const list = (value: Json): Json[] => (Array.isArray(value) ? value : [value]);

/** The rules that watch only the home stack, and the home template's EventBridge rules invoking their functions. */
const homeOnlyRules = rules.filter((rule) => rule.homeStackOnly !== undefined);
const invokesHomeOnly = (resource: Resource): boolean =>
  resource.Type === 'AWS::Events::Rule' &&
  ((resource.Properties.Targets ?? []) as unknown as Target[]).some((target) =>
    homeOnlyRules.some((rule) =>
      JSON.stringify(target.Arn).includes(`"${functionLogicalId(rule.id)}LambdaFunction"`),
    ),
  );
const withoutHomeOnly = (resources: Record<string, Resource>) =>
  Object.fromEntries(Object.entries(resources).filter(([, resource]) => !invokesHomeOnly(resource)));
const onlyHomeOnly = (resources: Record<string, Resource>) =>
  Object.fromEntries(Object.entries(resources).filter(([, resource]) => invokesHomeOnly(resource)));

describe('the member stack in its packaged template', () => {
  const member = resourcesOf(MEMBER_TEMPLATE);
  const home = resourcesOf(HOME_TEMPLATE);
  const forwardingRules = ofType(member, 'AWS::Events::Rule');
  // The rules' member roles; on-call's and the approver's are checked on their own below.
  const memberRoles = Object.fromEntries(
    ofType(member, 'AWS::IAM::Role').filter(
      ([id]) => id.startsWith('Member') && id !== MEMBER_ON_CALL_ROLE && id !== MEMBER_APPROVER_ROLE,
    ),
  ) as Record<string, Resource>;
  const acting = rules.filter((rule) => rule.homeStackOnly === undefined);

  it('is one template for every region: it names no region but the home one, and deploys no bucket', () => {
    // Prepare
    const text = readFileSync(MEMBER_TEMPLATE, 'utf8');
    // Assess
    expect(text).not.toContain('eu-west-1');
    expect(ofType(member, 'AWS::S3::Bucket')).toEqual([]);
    expect(ofType(member, 'AWS::Lambda::Function')).toEqual([]);
    expect(ofType(member, 'AWS::DynamoDB::Table')).toEqual([]);
  });

  it("forwards every event a function acting in members subscribes to, AWS Config's included, to the security account's bus", () => {
    // Prepare
    // The organisation's own bus-policy routing watches the home region's bus: never forwarded; nor
    // what rules of the home stack alone (self-protection) subscribe to: no member event is theirs.
    const homePatterns = patternsOf(withoutHomeOnly(withoutOrganisationRouting(home)));
    // Each forwarded pattern also names the member's own account (checked below): this is what it
    // forwards of that account.
    const forwarded = patternsOf(member).map(
      (pattern) =>
        Object.fromEntries(Object.entries(pattern).filter(([key]) => key !== 'account')) as Pattern,
    );
    const configTypes = (patterns: Pattern[]) =>
      [
        ...new Set(
          patterns
            .filter((pattern) => strings(pattern.source).includes('aws.config'))
            .flatMap((pattern) => strings(pattern['detail-type'])),
        ),
      ].sort();
    // Assess: CloudTrail calls and EBS notifications, then Config's own events
    expect(uncovered(forwarded, homePatterns)).toEqual([]);
    expect(configTypes(homePatterns).length).toBeGreaterThan(0);
    expect(configTypes(forwarded)).toEqual(expect.arrayContaining(configTypes(homePatterns)));
    for (const [id, rule] of forwardingRules) {
      const targets = rule.Properties.Targets as unknown as Target[];
      expect([id, targets.map((target) => target.Arn)]).toEqual([id, [SECURITY_BUS]]);
    }
  });

  it("forwards only the member's own events: each forwarded pattern names this account, so nothing another account put on its bus is relayed", () => {
    // Prepare
    const patterned = forwardingRules.filter(([, rule]) => rule.Properties.EventPattern !== undefined);
    // Assess
    expect(patterned.length).toBeGreaterThan(0);
    for (const [id, rule] of patterned) {
      const pattern = rule.Properties.EventPattern as Pattern;
      expect([id, pattern.account]).toEqual([id, [{ Ref: 'AWS::AccountId' }]]);
    }
  });

  it('forwards nothing only a rule of the home stack alone subscribes to (the security account’s forwarders still do)', () => {
    // Prepare: the calls only home-only functions subscribe to
    const homeOnly = homeOnlyRules.map((rule) => rule.id);
    expect(homeOnly).toEqual(['self-protection']);
    const others = new Set(
      subscriptions(patternsOf(withoutHomeOnly(withoutOrganisationRouting(home)))).map(({ name }) => name),
    );
    const theirsAlone = subscriptions(patternsOf(onlyHomeOnly(withoutOrganisationRouting(home)))).filter(
      ({ name }) => !others.has(name),
    );
    const forwarded = patternsOf(member);
    const forwarder = patternsOf(resourcesOf(packagedTemplate('serverless-forwarder')));
    // Assess: there are such calls (PutRule, UpdateFunctionConfiguration...), none forwarded by the
    // member stack, every one by a forwarder in the security account's other regions
    expect(theirsAlone.map(({ name }) => name)).toEqual(
      expect.arrayContaining(['aws.events events.amazonaws.com PutRule']),
    );
    expect(theirsAlone.filter(({ pattern }) => forwarded.some((f) => covers(f, pattern)))).toEqual([]);
    expect(theirsAlone.filter(({ pattern }) => !forwarder.some((f) => covers(f, pattern)))).toEqual([]);
  });

  it("beats every hour, in every region, on the security account's bus through the forwarding rules' own role and dead letters", () => {
    // Prepare
    const scheduled = forwardingRules.filter(([, rule]) => rule.Properties.ScheduleExpression !== undefined);
    const forwarding = forwardingRules.filter(([, rule]) => rule.Properties.EventPattern !== undefined);
    const [beat] = scheduled;
    const targets = (rule: Resource) => rule.Properties.Targets as unknown as Target[];
    // Assess: one schedule, named as the security account's rule expects, in every region (no condition)
    expect(scheduled.map(([id]) => id)).toEqual(['ForwardHeartbeatRule']);
    expect(beat?.[1].Condition).toBeUndefined();
    expect(beat?.[1].Properties).toMatchObject({
      Name: memberHeartbeatRuleName(HOME_STACK),
      ScheduleExpression: MEMBER_HEARTBEAT_SCHEDULE,
      State: 'ENABLED',
    });
    expect(beat?.[1].Properties.EventPattern).toBeUndefined();
    // The same target as every forwarding rule: the security bus, the forwarder role, its dead-letter queue
    const [target] = targets(beat?.[1] as Resource);
    expect(target?.Arn).toEqual(SECURITY_BUS);
    expect(target?.RoleArn).toEqual({ 'Fn::GetAtt': ['ForwarderRole', 'Arn'] });
    for (const [id, rule] of forwarding) {
      const { Id: _id, ...same } = targets(rule)[0] as Target;
      const { Id: _beatId, ...beatSame } = target as Target;
      expect([id, beatSame]).toEqual([id, same]);
    }
    // Its failures page in the member region, as every forwarding rule's do
    expect(member.ForwardHeartbeatRuleFailedInvocationsAlarm?.Properties.Dimensions).toEqual([
      { Name: 'RuleName', Value: { Ref: 'ForwardHeartbeatRule' } },
    ]);
  });

  it('holds one role for each rule that acts in member accounts, and the Security Hub importer, in the home region only', () => {
    // Assess
    expect(Object.keys(memberRoles).sort()).toEqual(
      [...acting.map(memberRoleLogicalId), IMPORTER_ROLE_LOGICAL_ID].sort(),
    );
    expect(memberRoles[memberRoleLogicalId({ id: 'self-protection' })]).toBeUndefined();
    for (const rule of acting) {
      const role = memberRoles[memberRoleLogicalId(rule)] as Resource;
      expect([rule.id, role.Condition, (role.Properties as unknown as RoleProperties).RoleName]).toEqual([
        rule.id,
        'HoldsMemberRoles',
        memberRoleName(HOME_STACK, rule.id),
      ]);
    }
  });

  it("gives each role exactly its rule's statements that stay in the account, under the member boundary", () => {
    for (const rule of acting) {
      // Prepare
      const role = memberRoles[memberRoleLogicalId(rule)]?.Properties as unknown as RoleProperties;
      const granted = role.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
      // Assess
      expect([rule.id, granted]).toEqual([rule.id, memberStatements(rule).map(policyStatement)]);
      expect([rule.id, JSON.stringify(granted)]).not.toEqual([
        rule.id,
        expect.stringContaining('IncidentTable'),
      ]);
      expect([rule.id, role.PermissionsBoundary, role.ManagedPolicyArns]).toEqual([
        rule.id,
        { Ref: 'MemberBoundary' },
        undefined,
      ]);
    }
    // The grant ledger stays in the security account: ssh-grant-expired's member role does not read it.
    const grants = rules.find((rule) => rule.id === 'ssh-grant-expired');
    expect(grants && memberStatements(grants).length).toBeLessThan(grants?.permissions.length ?? 0);
  });

  it("lets only the rule's own function role in the security account assume it", () => {
    for (const rule of acting) {
      // Prepare
      const role = memberRoles[memberRoleLogicalId(rule)]?.Properties as unknown as RoleProperties;
      // Assess
      expect([rule.id, role.AssumeRolePolicyDocument.Statement]).toEqual([
        rule.id,
        [
          {
            Sid: 'OnlyThisRulesFunction',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:root` } },
            Action: 'sts:AssumeRole',
            Condition: {
              ArnEquals: {
                'aws:PrincipalArn': {
                  'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:role/${HOME_STACK}-${rule.id}`,
                },
              },
            },
          },
        ],
      ]);
      // That is the name an organisation deployment gives the rule's role in the home template.
      expect([rule.id, home[roleName(rule)]?.Properties.RoleName]).toEqual([
        rule.id,
        { 'Fn::If': ['IsOrganisation', `${HOME_STACK}-${rule.id}`, { Ref: 'AWS::NoValue' }] },
      ]);
    }
  });

  it("keeps the member boundary within IAM's 6,144 characters for a managed policy", () => {
    // Prepare: each Fn::Sub as its text; its placeholders are longer than what they become
    // (${AWS::Partition} is at most aws-us-gov, ${AWS::AccountId} 12 digits), so this is an upper bound
    const document = (member.MemberBoundary as Resource).Properties.PolicyDocument;
    const text = JSON.stringify(document, (_key, value) =>
      value && typeof value === 'object' && 'Fn::Sub' in value ? value['Fn::Sub'] : value,
    );
    // Assess: IAM does not count white space, and JSON.stringify writes none
    expect(text).not.toContain('Fn::');
    expect(text.length).toBeLessThanOrEqual(6_144);
  });

  it('bounds every member role: each action a role holds is one the boundary allows as the role holds it', () => {
    // Prepare
    const boundary = member.MemberBoundary as Resource;
    const ceiling = (boundary.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement;
    const anywhere = new Set(
      ceiling
        .filter((statement) => statement.Resource === '*' && statement.Condition === undefined)
        .flatMap((statement) => list(statement.Action)),
    );
    const sameButSid = (a: Statement, b: Statement) =>
      JSON.stringify({ ...a, Sid: '' }) === JSON.stringify({ ...b, Sid: '' });
    // Assess
    expect(boundary.Condition).toBe('HoldsMemberRoles');
    for (const [id, role] of Object.entries(memberRoles)) {
      const statements = (role.Properties as unknown as RoleProperties).Policies.flatMap(
        (policy) => policy.PolicyDocument.Statement,
      );
      for (const statement of statements) {
        // A Deny only narrows: it needs no room in the boundary.
        const bounded =
          statement.Effect === 'Deny' ||
          list(statement.Action).every((action) => anywhere.has(action)) ||
          ceiling.some((other) => sameButSid(other, statement));
        expect([id, statement.Sid, bounded]).toEqual([id, statement.Sid, true]);
      }
    }
  });
  it("holds the Security Hub importer's role: trusted only by the security account's security-hub-findings function role, allowed exactly its import and workflow moves, under the boundary", () => {
    // Prepare
    const role = memberRoles[IMPORTER_ROLE_LOGICAL_ID] as Resource;
    const properties = role.Properties as unknown as RoleProperties;
    const granted = properties.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
    const homeRole = home.SecurityHubFindingsRole?.Properties as unknown as RoleProperties;
    const homeSecurityHub = homeRole.Policies.flatMap((policy) => policy.PolicyDocument.Statement).filter(
      (statement) => list(statement.Action).some((action) => String(action).startsWith('securityhub:')),
    );
    const boundary = (member.MemberBoundary as Resource).Properties.PolicyDocument as unknown as {
      Statement: Statement[];
    };
    const boundedSecurityHub = boundary.Statement.filter((statement) =>
      list(statement.Action).some((action) => /^securityhub:|^\*$/.test(String(action))),
    );
    // Assess: the home region only (IAM is global), its name, its boundary
    expect(role.Condition).toBe('HoldsMemberRoles');
    expect(properties.RoleName).toBe(importerRoleName(HOME_STACK));
    expect(properties.RoleName).toBe(`${HOME_STACK}-member-security-hub-findings`);
    expect([properties.PermissionsBoundary, properties.ManagedPolicyArns]).toEqual([
      { Ref: 'MemberBoundary' },
      undefined,
    ]);
    // Trusted by one role of the security account, by the name an organisation deployment gives it
    expect(properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Sid: 'OnlyTheSecurityHubImporter',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:root` } },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:role/${HOME_STACK}-security-hub-findings`,
            },
          },
        },
      },
    ]);
    expect(homeRole.RoleName).toEqual({
      'Fn::If': ['IsOrganisation', `${HOME_STACK}-security-hub-findings`, { Ref: 'AWS::NoValue' }],
    });
    // Exactly the home role's Security Hub statements (its own product and hub, the same conditions and
    // denials), which in the member's home region name the member's account and that region
    expect(granted).toEqual(homeSecurityHub);
    expect(
      granted.filter((statement) => statement.Effect === 'Allow').map((statement) => statement.Action),
    ).toEqual(['securityhub:BatchImportFindings', 'securityhub:BatchUpdateFindings']);
    expect(granted.find((statement) => statement.Sid === 'ImportThisAccountsFindings')).toEqual({
      Sid: 'ImportThisAccountsFindings',
      Effect: 'Allow',
      Action: 'securityhub:BatchImportFindings',
      Resource: {
        'Fn::Sub': `arn:\${AWS::Partition}:securityhub:\${AWS::Region}:\${AWS::AccountId}:product/\${AWS::AccountId}/default`,
      },
      Condition: { StringEquals: { 'securityhub:TargetAccount': { Ref: 'AWS::AccountId' } } },
    });
    // The boundary allows exactly the two Allow statements, conditions included, and no other Security Hub action
    expect(boundedSecurityHub).toEqual(granted.filter((statement) => statement.Effect === 'Allow'));
  });
});

describe("on-call's role in the member stack (incidents undo of a member's incident, scan --account)", () => {
  const member = resourcesOf(MEMBER_TEMPLATE);
  const home = resourcesOf(HOME_TEMPLATE);
  const role = member[MEMBER_ON_CALL_ROLE] as Resource;
  const properties = role.Properties as unknown as RoleProperties;
  const granted = properties.Policies.flatMap((policy) => policy.PolicyDocument.Statement);

  it('is named after the home stack, in the home region only, under the member boundary, for an hour at most', () => {
    // Assess
    expect([role.Type, role.Condition, properties.RoleName]).toEqual([
      'AWS::IAM::Role',
      'HoldsMemberRoles',
      memberOnCallRoleName(HOME_STACK),
    ]);
    expect(memberOnCallRoleName(HOME_STACK)).toBe(`${HOME_STACK}-member-on-call`);
    expect([
      properties.PermissionsBoundary,
      properties.ManagedPolicyArns,
      role.Properties.MaxSessionDuration,
    ]).toEqual([{ Ref: 'MemberBoundary' }, undefined, 3600]);
    // A rule named on-call would share its member role's name.
    expect(rules.map((rule) => rule.id)).not.toContain('on-call');
  });

  it('holds exactly the on-call actions of the rules that act in members: their undo calls and reads there, nothing of the home stack', () => {
    // Prepare: derived here from the registry, independently of memberOnCallActions
    const acting = memberRules(rules);
    const inAccount = new Set([
      ...acting.flatMap(memberStatements).flatMap((statement) => statement.actions),
      ...acting.flatMap((rule) => rule.undoActions ?? []),
    ]);
    const expected = onCallActions(acting).filter(
      (action) => inAccount.has(action) && !/^(dynamodb|sns|sqs):/.test(action),
    );
    // Assess
    expect(granted).toEqual([
      { Sid: 'UndoAndTheReadsItChecksFirst', Effect: 'Allow', Action: expected, Resource: '*' },
      {
        Sid: 'UndoOnlyTheRespondersOwnTags',
        Effect: 'Allow',
        Action: 'ec2:DeleteTags',
        Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:ec2:*:\${AWS::AccountId}:*/*` },
        Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['compliance-responder:*'] } },
      },
      // ssh revoke of a member's grant: exactly what it calls there, as declared.
      ...REVOKE_STATEMENTS.map(policyStatement),
      // ssh lockdown --account: what the SSH rules' member roles hold there (checked below).
      ...memberLockdownStatements().map(policyStatement),
    ]);
    expect(memberOnCallActions(rules)).toEqual(expected);
    // Every undo call a member's incident can record, and what scan lists there
    for (const rule of acting) {
      for (const action of rule.undoActions ?? [])
        expect([rule.id, action, expected.includes(action) || action === 'ec2:DeleteTags']).toEqual([
          rule.id,
          action,
          true,
        ]);
    }
    expect(expected).toEqual(
      expect.arrayContaining(['ec2:AuthorizeSecurityGroupIngress', 'ec2:DescribeSecurityGroups']),
    );
    expect(JSON.stringify(granted)).not.toMatch(/dynamodb:|sns:|sqs:|IncidentTable|AlertTopic|sts:|iam:Pass/);
  });

  it("holds what ssh lockdown --account calls there: the SSH rules' in-account statements as their member roles hold them, but Config's re-evaluation of the stack's own rules", () => {
    // Prepare: derived here from the lockdown's rules and their packaged member roles
    const lockdownPolicy = properties.Policies.find((policy) => policy.PolicyName === 'ssh-lockdown');
    const ruleRoles = LOCKDOWN_RULES.map(
      (rule) => (member[memberRoleLogicalId(rule)] as Resource).Properties as unknown as RoleProperties,
    );
    const fromRuleRoles = ruleRoles
      .flatMap((ruleRole) => ruleRole.Policies.flatMap((policy) => policy.PolicyDocument.Statement))
      .filter((statement) => statement.Sid !== 'ReevaluatePairedConfigRules');
    const unique = fromRuleRoles.filter(
      (statement, index) =>
        fromRuleRoles.findIndex((other) => JSON.stringify(other) === JSON.stringify(statement)) === index,
    );
    // Assess: exactly those statements, and not Config's, whose rules exist only in the security account
    expect(lockdownPolicy?.PolicyDocument.Statement).toEqual(unique);
    expect(list(unique.flatMap((statement) => list(statement.Action)))).toEqual(
      expect.arrayContaining(['ec2:RevokeSecurityGroupIngress', 'iam:UpdateSSHPublicKey', 'iam:ListUsers']),
    );
    expect(JSON.stringify(lockdownPolicy)).not.toContain('config:');
    // IAM's limit on a role's inline policies, together.
    expect(JSON.stringify(properties.Policies).length).toBeLessThan(10_240);
  });

  it("trusts only the security account's on-call role, by its exact ARN", () => {
    // Assess
    expect(properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Sid: 'OnlyTheSecurityAccountsOnCall',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:root` } },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:role/${HOME_STACK}-on-call`,
            },
          },
        },
      },
    ]);
    // That is the name the home template gives its on-call role.
    expect(home.OnCallRole?.Properties.RoleName).toBe(onCallRoleName(HOME_STACK));
  });

  it('is bounded: the member boundary allows each of its statements as the role holds it', () => {
    // Prepare
    const boundary = member.MemberBoundary as Resource;
    const ceiling = (boundary.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement;
    const anywhere = new Set(
      ceiling
        .filter((statement) => statement.Resource === '*' && statement.Condition === undefined)
        .flatMap((statement) => list(statement.Action)),
    );
    const coveredBy = (statement: Statement, other: Statement) =>
      other.Resource === '*' &&
      JSON.stringify(other.Condition) === JSON.stringify(statement.Condition) &&
      list(statement.Action).every((action) => list(other.Action).includes(action));
    // Assess
    for (const statement of granted) {
      const bounded =
        list(statement.Action).every((action) => anywhere.has(action)) ||
        ceiling.some((other) => coveredBy(statement, other));
      expect([statement.Sid, bounded]).toEqual([statement.Sid, true]);
    }
  });

  it("lets the home on-call role assume only the member on-call role, in the organisation's accounts, and only in an organisation deployment", () => {
    // Prepare
    const access = home.OnCallMemberAccess as Resource;
    const onCallRole = home.OnCallRole as Resource;
    const inline = JSON.stringify(onCallRole.Properties.Policies);
    const boundary = JSON.stringify(home.OperatorBoundary?.Properties.PolicyDocument);
    // Assess: a role policy that exists only under IsOrganisation
    expect([access.Type, access.Condition, access.Properties.RoleName]).toEqual([
      'AWS::IAM::RolePolicy',
      'IsOrganisation',
      { Ref: 'OnCallRole' },
    ]);
    expect((access.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement).toEqual([
      {
        Sid: 'AssumeOnlyTheMemberOnCallRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${HOME_STACK}-member-on-call` },
        // scripts/template-check.sh packages the home stack without an organisation: the id is empty there.
        Condition: { StringEquals: { 'aws:ResourceOrgID': '' } },
      },
      {
        Sid: 'ListTheOrganisationsAccounts',
        Effect: 'Allow',
        Action: ['organizations:ListAccounts', 'organizations:DescribeOrganization'],
        Resource: '*',
      },
    ]);
    // Assess: the role itself assumes nothing; its boundary (which grants nothing) admits the member on-call role alone
    expect(inline).not.toContain('sts:AssumeRole');
    const operatorBoundary = home.OperatorBoundary as Resource;
    const assuming = (
      operatorBoundary.Properties.PolicyDocument as unknown as { Statement: Statement[] }
    ).Statement.filter((statement) => list(statement.Action).includes('sts:AssumeRole'));
    expect(assuming.map((statement) => statement.Resource)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${HOME_STACK}-member-on-call` },
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${HOME_STACK}-member-approver` },
    ]);
    expect(boundary).toContain('organizations:ListAccounts');
  });
});

describe("the approver's role in the member stack (ssh grant --account)", () => {
  const member = resourcesOf(MEMBER_TEMPLATE);
  const home = resourcesOf(HOME_TEMPLATE);
  const role = member[MEMBER_APPROVER_ROLE] as Resource;
  const properties = role.Properties as unknown as RoleProperties;
  const granted = properties.Policies.flatMap((policy) => policy.PolicyDocument.Statement);

  it('is named after the home stack, in the home region only, under the member boundary, for an hour at most', () => {
    // Assess
    expect([role.Type, role.Condition, properties.RoleName]).toEqual([
      'AWS::IAM::Role',
      'HoldsMemberRoles',
      `${HOME_STACK}-member-approver`,
    ]);
    expect(memberApproverRoleName(HOME_STACK)).toBe(`${HOME_STACK}-member-approver`);
    expect([
      properties.PermissionsBoundary,
      properties.ManagedPolicyArns,
      role.Properties.MaxSessionDuration,
    ]).toEqual([{ Ref: 'MemberBoundary' }, undefined, 3600]);
    // A rule named approver would share its member role's name.
    expect(rules.map((rule) => rule.id)).not.toContain('approver');
  });

  it("holds exactly what a grant calls in an account, as declared (shared/ssh/grant-actions.ts), nothing of the home stack's", () => {
    // Assess
    expect(granted).toEqual(GRANT_STATEMENTS.map(policyStatement));
    expect(granted.flatMap((statement) => list(statement.Action)).sort()).toEqual([
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:CreateTags',
      'ec2:DescribeSecurityGroupRules',
      'ec2:DescribeSecurityGroups',
      'iam:GetUser',
      'iam:ListSSHPublicKeys',
      'iam:UpdateSSHPublicKey',
    ]);
    // Tags only as the granted rule is created, and only the responder's keys
    expect(granted.find((statement) => list(statement.Action).includes('ec2:CreateTags'))?.Condition).toEqual(
      {
        StringEquals: { 'ec2:CreateAction': ['AuthorizeSecurityGroupIngress'] },
        'ForAllValues:StringLike': { 'aws:TagKeys': ['compliance-responder:*'] },
      },
    );
    expect(JSON.stringify(granted)).not.toMatch(
      /dynamodb:|sns:|sqs:|IncidentTable|AlertTopic|sts:|iam:Pass|RevokeSecurityGroupIngress/,
    );
  });

  it("trusts only the security account's approver role, by its exact ARN, the name the home template gives it", () => {
    // Assess
    expect(properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Sid: 'OnlyTheSecurityAccountsApprovers',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:root` } },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': {
              'Fn::Sub': `arn:\${AWS::Partition}:iam::${SECURITY_ACCOUNT}:role/${HOME_STACK}-approver`,
            },
          },
        },
      },
    ]);
    expect(approverRoleName(HOME_STACK)).toBe(`${HOME_STACK}-approver`);
    expect(home.ApproverRole?.Properties.RoleName).toBe(approverRoleName(HOME_STACK));
  });

  it('is bounded: the member boundary allows each of its statements as the role holds it', () => {
    // Prepare
    const boundary = member.MemberBoundary as Resource;
    const ceiling = (boundary.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement;
    const anywhere = new Set(
      ceiling
        .filter((statement) => statement.Resource === '*' && statement.Condition === undefined)
        .flatMap((statement) => list(statement.Action)),
    );
    const sameButSid = (a: Statement, b: Statement) =>
      JSON.stringify({ ...a, Sid: '' }) === JSON.stringify({ ...b, Sid: '' });
    // Assess
    for (const statement of granted) {
      const bounded =
        list(statement.Action).every((action) => anywhere.has(action)) ||
        ceiling.some((other) => sameButSid(other, statement));
      expect([statement.Sid, bounded]).toEqual([statement.Sid, true]);
    }
  });

  it("lets the home approver role assume only the member approver role, in the organisation's accounts, and only in an organisation deployment", () => {
    // Prepare
    const access = home.ApproverMemberAccess as Resource;
    const inline = JSON.stringify(home.ApproverRole?.Properties.Policies);
    // Assess
    expect([access.Type, access.Condition, access.Properties.RoleName]).toEqual([
      'AWS::IAM::RolePolicy',
      'IsOrganisation',
      { Ref: 'ApproverRole' },
    ]);
    expect((access.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement).toEqual([
      {
        Sid: 'AssumeOnlyTheMemberApproverRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${HOME_STACK}-member-approver` },
        // scripts/template-check.sh packages the home stack without an organisation: the id is empty there.
        Condition: { StringEquals: { 'aws:ResourceOrgID': '' } },
      },
      {
        Sid: 'ListTheOrganisationsAccounts',
        Effect: 'Allow',
        Action: ['organizations:ListAccounts', 'organizations:DescribeOrganization'],
        Resource: '*',
      },
    ]);
    expect(inline).not.toMatch(/sts:AssumeRole|organizations:/);
  });
});

describe("the home approver role (ssh grant in the security account), against the grant's declaration", () => {
  const home = resourcesOf(HOME_TEMPLATE);
  const role = home.ApproverRole as Resource;
  const policies = (role.Properties as unknown as RoleProperties).Policies;
  const access = (home.ApproverMemberAccess as Resource).Properties.PolicyDocument as unknown as {
    Statement: Statement[];
  };
  const statements = [...policies.flatMap((policy) => policy.PolicyDocument.Statement), ...access.Statement];
  /**
   * What the approver needs besides a grant's own calls: the home stack's table (its ledgers and its
   * grants' incidents), topic, key, deployed caps and outputs, and the member approver role.
   */
  const HOME_NEEDS = [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:DescribeTable',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
    'sns:Publish',
    'kms:Decrypt',
    'kms:GenerateDataKey',
    'lambda:GetFunctionConfiguration',
    'lambda:ListVersionsByFunction',
    'cloudformation:DescribeStacks',
    'sts:AssumeRole',
    'organizations:ListAccounts',
    'organizations:DescribeOrganization',
  ];

  it("allows exactly the grant's declared actions (shared/ssh/grant-actions.ts), besides what it needs of the home stack and the member approver role", () => {
    // Prepare
    const allowed = statements.filter((statement) => statement.Effect === 'Allow');
    const actions = [...new Set(allowed.flatMap((statement) => list(statement.Action).map(String)))];
    // Assess
    expect(actions.filter((action) => !HOME_NEEDS.includes(action)).sort()).toEqual(
      actionsOf(GRANT_STATEMENTS),
    );
    expect(HOME_NEEDS.filter((action) => !actions.includes(action))).toEqual([]);
  });

  it("holds each declared statement as declared, its tag condition narrowed to the stack's grant tag", () => {
    // Prepare: the packaged template resolves sshGrantTag to its default
    const asHeld = (statement: Statement) => statements.find((other) => other.Sid === statement.Sid);
    // Assess
    for (const declared of GRANT_STATEMENTS.map(policyStatement) as unknown as Statement[]) {
      const tagged = declared.Sid === 'TagTheGrantedRuleAsItIsCreated';
      const expected = tagged
        ? {
            ...declared,
            Condition: {
              StringEquals: { 'ec2:CreateAction': ['AuthorizeSecurityGroupIngress'] },
              'ForAllValues:StringEquals': { 'aws:TagKeys': ['compliance-responder:ssh-grant'] },
            },
          }
        : declared;
      expect(asHeld(declared)).toEqual(expected);
    }
  });
});

describe("the security account's side, in the home template (deployment: organisation)", () => {
  const home = resourcesOf(HOME_TEMPLATE);
  const acting = rules.filter((rule) => rule.homeStackOnly === undefined);

  it('admits events from the organisation by its id, never from a list of accounts, and only PutEvents', () => {
    // Prepare
    const policy = home.OrganisationEventBusPolicy as Resource;
    // Assess
    expect(policy.Condition).toBe('IsOrganisation');
    expect(policy.Properties.EventBusName).toBe('default');
    expect(policy.Properties.Statement).toEqual({
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: {
        'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
      },
      // scripts/template-check.sh packages the home stack without an organisation: the id is empty there.
      Condition: { StringEquals: { 'aws:PrincipalOrgID': '' } },
    });
  });

  it("lets each rule's role assume only its own member role, in accounts of the organisation", () => {
    for (const rule of acting) {
      // Prepare
      const access = home[`${roleName(rule).replace(/Role$/, '')}MemberAccess`] as Resource;
      const statements = (access.Properties.PolicyDocument as unknown as { Statement: Statement[] })
        .Statement;
      // Assess
      expect([rule.id, access.Condition, access.Properties.RoleName]).toEqual([
        rule.id,
        'IsOrganisation',
        { Ref: roleName(rule) },
      ]);
      expect([rule.id, statements]).toEqual([
        rule.id,
        [
          {
            Sid: 'AssumeOnlyThisRulesMemberRole',
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Resource: {
              'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${memberRoleName(HOME_STACK, rule.id)}`,
            },
            Condition: { StringEquals: { 'aws:ResourceOrgID': '' } },
          },
          {
            Sid: 'ListTheOrganisationsAccounts',
            Effect: 'Allow',
            Action: ['organizations:ListAccounts', 'organizations:DescribeOrganization'],
            Resource: '*',
          },
        ],
      ]);
    }
    expect(home.SelfProtectionMemberAccess).toBeUndefined();
  });

  it("hears member heartbeats: a rule on its default bus matching EventBridge's own scheduled event of the member heartbeat rule, invoking the member-heartbeat function", () => {
    // Prepare
    const rule = home.MemberHeartbeatRule as Resource;
    const permission = home.MemberHeartbeatPermission as Resource;
    // Assess: only aws.events (PutEvents refuses that source), the member rule's name in resources
    expect(rule.Condition).toBe('IsOrganisation');
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.events'],
      'detail-type': ['Scheduled Event'],
      resources: [{ suffix: `:rule/${memberHeartbeatRuleName(HOME_STACK)}` }],
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': ['MemberDashheartbeatLambdaFunction', 'Arn'] } }),
    ]);
    expect(permission).toMatchObject({
      Type: 'AWS::Lambda::Permission',
      Condition: 'IsOrganisation',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['MemberDashheartbeatLambdaFunction', 'Arn'] },
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': ['MemberHeartbeatRule', 'Arn'] },
      },
    });
    expect(home.MemberDashheartbeatLambdaFunction?.Condition).toBe('IsOrganisation');
  });

  it('lets the member-heartbeat function write only the last-seen items, and the heartbeat only query them', () => {
    // Prepare
    const role = home.MemberHeartbeatRole as Resource;
    const granted = (role.Properties as unknown as RoleProperties).Policies.flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );
    const access = home.HeartbeatMemberAccess as Resource;
    const heartbeatGranted = (access.Properties.PolicyDocument as unknown as { Statement: Statement[] })
      .Statement;
    const onTable = (statements: Statement[]) =>
      statements
        .filter((statement) =>
          list(statement.Action).some((action) => String(action).startsWith('dynamodb:')),
        )
        .map((statement) => [statement.Action, statement.Condition]);
    const lastSeenOnly = { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [MEMBER_HEARTBEAT_PK] } };
    // Assess
    expect([role.Condition, access.Condition, access.Properties.RoleName]).toEqual([
      'IsOrganisation',
      'IsOrganisation',
      { Ref: 'HeartbeatRole' },
    ]);
    expect((role.Properties as unknown as RoleProperties).PermissionsBoundary).toEqual({
      Ref: 'ResponderBoundary',
    });
    expect(onTable(granted)).toEqual([['dynamodb:PutItem', lastSeenOnly]]);
    expect(onTable(heartbeatGranted)).toEqual([['dynamodb:Query', lastSeenOnly]]);
    expect(granted.flatMap((statement) => list(statement.Action))).toContain('organizations:ListAccounts');
    expect(heartbeatGranted.flatMap((statement) => list(statement.Action)).sort()).toEqual(
      ['dynamodb:Query', 'organizations:DescribeOrganization', 'organizations:ListAccounts'].sort(),
    );
  });

  it('adds nothing a single-account deployment creates: every part of the member heartbeat exists only in an organisation', () => {
    // Prepare: the resources that name the feature (the boundary caps, grants nothing, and is not one)
    const naming = Object.entries(home)
      .filter(([id]) => id !== 'ResponderBoundary')
      .filter(([id, resource]) =>
        /MemberHeartbeat|MemberDashheartbeat|member-heartbeat|HEARTBEAT#MEMBER|forward-heartbeat/.test(
          id + JSON.stringify(resource),
        ),
      );
    // Assess
    // A function version's logical id ends in its code's hash
    expect(naming.map(([id]) => id.replace(/LambdaVersion\w+$/, 'LambdaVersion')).sort()).toEqual(
      [
        'HeartbeatMemberAccess',
        'MemberDashheartbeatErrorsAlarm',
        'MemberDashheartbeatLambdaEvConf',
        'MemberDashheartbeatLambdaFunction',
        'MemberDashheartbeatLambdaVersion',
        'MemberDashheartbeatLogGroup',
        'MemberDashheartbeatThrottlesAlarm',
        'MemberHeartbeatPermission',
        'MemberHeartbeatRole',
        'MemberHeartbeatRule',
        // The function's EventBridge rules' FailedInvocations, summed (scripts/serverless/alarms.cjs)
        'MemberDashheartbeatIsOrganisationFailedInvocationsAlarm',
      ].sort(),
    );
    for (const [id, resource] of naming) expect([id, resource.Condition]).toEqual([id, 'IsOrganisation']);
    // The heartbeat's own role and schedule are a single account's as before
    const heartbeatRole = home.HeartbeatRole as Resource;
    expect(JSON.stringify(heartbeatRole)).not.toMatch(/HEARTBEAT#MEMBER|organizations:/);
  });

  it("routes the default bus's policy changes to self-protection and lets it put the organisation statement back, in an organisation only", () => {
    // Prepare
    const DEFAULT_BUS = {
      'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
    };
    const rule = home.SelfProtectionOrganisation1EventRule as Resource;
    const permission = home.SelfProtectionOrganisation1EventRulePermission as Resource;
    // Its FailedInvocations, summed with the function's other rules under the same Condition
    const alarm = home.SelfDashprotectionIsOrganisationFailedInvocationsAlarm as Resource;
    const access = home.SelfProtectionOrganisationAccess as Resource;
    const role = home.SelfProtectionRole as Resource;
    const boundary = (home.ResponderBoundary as Resource).Properties.PolicyDocument as unknown as {
      Statement: Statement[];
    };
    // Assess: every part exists only where IsOrganisation holds (a single account has none of it)
    expect([rule, permission, alarm, access].map((each) => each?.Condition)).toEqual([
      'IsOrganisation',
      'IsOrganisation',
      'IsOrganisation',
      'IsOrganisation',
    ]);
    expect(JSON.stringify(alarm.Properties.Metrics)).toContain(
      JSON.stringify({ Name: 'RuleName', Value: { Ref: 'SelfProtectionOrganisation1EventRule' } }),
    );
    expect(rule.Properties.Name).toBe(`${HOME_STACK}-self-protection-organisation-1`);
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.events'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['events.amazonaws.com'],
        eventName: ['PutPermission', 'RemovePermission'],
        requestParameters: { eventBusName: [{ exists: false }, 'default', DEFAULT_BUS] },
      },
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': ['SelfDashprotectionLambdaFunction', 'Arn'] } }),
    ]);
    expect(permission.Properties.SourceArn).toEqual({
      'Fn::GetAtt': ['SelfProtectionOrganisation1EventRule', 'Arn'],
    });
    expect(access.Properties.RoleName).toEqual({ Ref: 'SelfProtectionRole' });
    expect((access.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement).toEqual([
      {
        Sid: 'TheOrganisationsBusStatement',
        Effect: 'Allow',
        Action: ['events:DescribeEventBus', 'events:PutPermission'],
        Resource: DEFAULT_BUS,
      },
    ]);
    // The role's own policy (every deployment) holds neither; the boundary caps PutPermission at the default bus
    expect(JSON.stringify(role.Properties)).not.toMatch(
      /events:PutPermission|events:DescribeEventBus|event-bus/,
    );
    const putting = boundary.Statement.filter((statement) =>
      list(statement.Action).some((action) =>
        ['events:PutPermission', 'events:*', '*'].includes(String(action)),
      ),
    );
    expect(putting.map((statement) => [statement.Effect, statement.Resource])).toEqual([
      ['Allow', DEFAULT_BUS],
    ]);
    // Nothing else of the stack routes or grants PutPermission in a single account (the boundary grants nothing)
    const naming = Object.entries(home).filter(
      ([id, resource]) => id !== 'ResponderBoundary' && JSON.stringify(resource).includes('PutPermission'),
    );
    expect(naming.map(([id, resource]) => [id, resource.Condition])).toEqual([
      ['SelfProtectionOrganisation1EventRule', 'IsOrganisation'],
      ['SelfProtectionOrganisationAccess', 'IsOrganisation'],
    ]);
  });

  it('lets the security-hub-findings function assume only its member role, in accounts of the organisation, only with both the organisation and securityHubFindings', () => {
    // Prepare
    const template = JSON.parse(readFileSync(HOME_TEMPLATE, 'utf8')) as { Conditions: Record<string, Json> };
    const access = home.SecurityHubFindingsMemberAccess as Resource;
    const assuming = Object.entries(home).filter(([, resource]) =>
      JSON.stringify(resource).includes('-member-security-hub-findings'),
    );
    // Assess
    expect(template.Conditions.SecurityHubFindingsInOrganisation).toEqual({
      'Fn::And': [{ Condition: 'IsOrganisation' }, { Condition: 'SecurityHubFindingsEnabled' }],
    });
    expect([access.Type, access.Condition, access.Properties.RoleName]).toEqual([
      'AWS::IAM::RolePolicy',
      'SecurityHubFindingsInOrganisation',
      { Ref: 'SecurityHubFindingsRole' },
    ]);
    expect((access.Properties.PolicyDocument as unknown as { Statement: Statement[] }).Statement).toEqual([
      {
        Sid: 'AssumeOnlyTheImportersMemberRole',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${importerRoleName(HOME_STACK)}` },
        Condition: { StringEquals: { 'aws:ResourceOrgID': '' } },
      },
      {
        Sid: 'ListTheOrganisationsAccounts',
        Effect: 'Allow',
        Action: ['organizations:ListAccounts', 'organizations:DescribeOrganization'],
        Resource: '*',
      },
    ]);
    // Nothing else grants it, and the function's own role (every deployment) holds neither
    expect(assuming.map(([id]) => id)).toEqual(['SecurityHubFindingsMemberAccess']);
    expect(JSON.stringify(home.SecurityHubFindingsRole?.Properties.Policies)).not.toMatch(
      /sts:|organizations:/,
    );
  });

  it("caps sts:AssumeRole at this stack's member roles in the boundary", () => {
    // Prepare
    const boundary = home.ResponderBoundary as Resource;
    const statements = (boundary.Properties.PolicyDocument as unknown as { Statement: Statement[] })
      .Statement;
    const assuming = statements.filter((statement) => list(statement.Action).includes('sts:AssumeRole'));
    // Assess
    expect(assuming.map((statement) => statement.Resource)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:iam::*:role/${HOME_STACK}-member-*` },
    ]);
  });
});
