import {
  functionRoleName,
  importerRoleName,
  SECURITY_HUB_IMPORTER,
} from '../../shared/organisation/member-roles';

/**
 * The member stack's role for the security-hub-findings function (docs/security-hub.md): Security
 * Hub takes a finding with the default product ARN only from the account the finding is about, so a
 * member's incidents are imported in that member, as this role. Its limits are the home role's
 * (serverless.yml, SecurityHubFindingsRole) on the member's own product and hub: only findings of
 * this account, only the workflow moved, never SUPPRESSED, never a field people own.
 * test/contract/member.test.ts checks it against the home role in the packaged templates.
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export const IMPORTER_ROLE_LOGICAL_ID = 'MemberSecurityHubFindingsRole';

/**
 * The role exists only in the home region (HoldsMemberRoles), the region of the security account's
 * product ARN, so `${AWS::Region}` here is that region: the member's findings go to the same region.
 */
const PRODUCT = `arn:\${AWS::Partition}:securityhub:\${AWS::Region}:\${AWS::AccountId}:product/\${AWS::AccountId}/default`;
const HUB = `arn:\${AWS::Partition}:securityhub:\${AWS::Region}:\${AWS::AccountId}:hub/default`;

/** Fields people own in Security Hub: one Deny each, since keys in one block must all match. */
const PEOPLES_FIELDS: readonly [string, string][] = [
  ['NeverSetSeverityLabel', 'Severity.Label'],
  ['NeverSetSeverityNormalized', 'Severity.Normalized'],
  ['NeverSetSeverityProduct', 'Severity.Product'],
  ['NeverSetNoteText', 'Note.Text'],
  ['NeverSetVerificationState', 'VerificationState'],
  ['NeverSetConfidence', 'Confidence'],
  ['NeverSetCriticality', 'Criticality'],
  ['NeverSetTypes', 'Types'],
  ['NeverSetUserDefinedFields', 'UserDefinedFields'],
  ['NeverSetRelatedFindings', 'RelatedFindings'],
  ['NeverSetRelatedFindingsId', 'RelatedFindings.Id'],
  ['NeverSetRelatedFindingsProductArn', 'RelatedFindings.ProductArn'],
];

/** What the role may do, and what the member boundary allows of Security Hub: exactly these. */
export const importerAllowed = (): Json[] => [
  {
    Sid: 'ImportThisAccountsFindings',
    Effect: 'Allow',
    Action: 'securityhub:BatchImportFindings',
    Resource: { 'Fn::Sub': PRODUCT },
    Condition: { StringEquals: { 'securityhub:TargetAccount': { Ref: 'AWS::AccountId' } } },
  },
  {
    Sid: 'MoveOnlyTheWorkflow',
    Effect: 'Allow',
    Action: 'securityhub:BatchUpdateFindings',
    Resource: { 'Fn::Sub': HUB },
    Condition: {
      StringEquals: { 'securityhub:ASFFSyntaxPath/Workflow.Status': ['NEW', 'NOTIFIED', 'RESOLVED'] },
    },
  },
];

/** The member hub holds every product's findings: never suppress one, never set a field people own. */
const importerDenied = (): Json[] => [
  {
    Sid: 'NeverSuppress',
    Effect: 'Deny',
    Action: 'securityhub:BatchUpdateFindings',
    Resource: '*',
    Condition: { StringEquals: { 'securityhub:ASFFSyntaxPath/Workflow.Status': 'SUPPRESSED' } },
  },
  ...PEOPLES_FIELDS.map(([sid, field]) => ({
    Sid: sid,
    Effect: 'Deny',
    Action: 'securityhub:BatchUpdateFindings',
    Resource: '*',
    Condition: { Null: { [`securityhub:ASFFSyntaxPath/${field}`]: 'false' } },
  })),
];

/**
 * The importer's role in a member account, trusted by the security account's security-hub-findings
 * function role alone, by the name an organisation deployment gives it (`trust` builds the policy,
 * as for the rules' member roles).
 */
export function importerRole(
  homeStackName: string,
  securityAccount: string,
  trust: (functionRole: string, sid: string) => Json,
  boundary: string,
  condition: string,
): Json {
  return {
    Type: 'AWS::IAM::Role',
    Condition: condition,
    Properties: {
      RoleName: importerRoleName(homeStackName),
      Description: `compliance-responder: the ${SECURITY_HUB_IMPORTER} function of security account ${securityAccount} imports this account's incidents here`,
      PermissionsBoundary: { Ref: boundary },
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: trust(
        functionRoleName(homeStackName, SECURITY_HUB_IMPORTER),
        'OnlyTheSecurityHubImporter',
      ),
      Policies: [
        {
          PolicyName: SECURITY_HUB_IMPORTER,
          PolicyDocument: { Version: '2012-10-17', Statement: [...importerAllowed(), ...importerDenied()] },
        },
      ],
    },
  };
}
