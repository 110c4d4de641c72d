import type { AwsSecurityFinding, RelatedFinding, WorkflowStatus } from '@aws-sdk/client-securityhub';
import type { Incident } from '../model';
import type { IncidentStatus } from '../pipeline/lifecycle';

/**
 * An incident as a Security Hub finding in the AWS Security Finding Format (docs/security-hub.md).
 * One finding per incident, under the same Id on every change, so Security Hub shows one finding
 * that follows the incident; built from the incident item as the table recorded it. Names and
 * statuses only, as in the alerts and incident events: no evidence values, tags or payloads.
 */
export const ASFF_SCHEMA_VERSION = '2018-10-08';
/** Every rule cites HIPAA: the finding type says so (ASFF's namespace/category/classifier). */
export const HIPAA_FINDING_TYPE =
  'Software and Configuration Checks/Industry and Regulatory Standards/HIPAA Controls';

/** ASFF's limits on the fields built from incident text (AwsSecurityFinding). */
const TITLE_LIMIT = 256;
const DESCRIPTION_LIMIT = 1024;
const RECOMMENDATION_LIMIT = 512;
/** Related Inspector findings linked per incident at most. */
export const RELATED_FINDINGS_LIMIT = 10;

/** Where a finding is imported: the account and region of the Security Hub that receives it. */
export interface FindingTarget {
  partition: string;
  region: string;
  account: string;
}

/** The default product ARN every account has for its own findings (BatchImportFindings). */
export const productArnOf = ({ partition, region, account }: FindingTarget): string =>
  `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;

/** The target a product ARN names, or undefined when it is not a default product ARN. */
export function targetOfProductArn(arn: string): FindingTarget | undefined {
  const match = /^arn:([a-z-]+):securityhub:([a-z0-9-]+):(\d{12}):product\/(\d{12})\/default$/.exec(arn);
  if (!match || match[3] !== match[4]) return undefined;
  return { partition: match[1] as string, region: match[2] as string, account: match[3] as string };
}

/** Stable per incident: every import of an incident updates the same finding. */
export const findingIdOf = (incidentId: string): string => `compliance-responder/incident/${incidentId}`;

type ComplianceStatus = 'PASSED' | 'WARNING' | 'FAILED' | 'NOT_AVAILABLE';
type RecordState = 'ACTIVE' | 'ARCHIVED';

/**
 * What each incident status makes of the finding (docs/security-hub.md renders this table; a unit
 * test keeps the two equal). Compliance and record state go with every import. The workflow is set
 * on import only when the finding is created (NEW); a later status whose workflow is not NEW moves
 * it with BatchUpdateFindings, since BatchImportFindings never changes a workflow once set.
 */
export const FINDING_STATES: Readonly<
  Record<IncidentStatus, { compliance: ComplianceStatus; record: RecordState; workflow: WorkflowStatus }>
> = {
  // Drift found, not (yet) fixed: a person looks at it.
  open: { compliance: 'FAILED', record: 'ACTIVE', workflow: 'NEW' },
  remediating: { compliance: 'FAILED', record: 'ACTIVE', workflow: 'NEW' },
  // The remediation failed or got stuck: the drift stands and needs a person.
  failed: { compliance: 'FAILED', record: 'ACTIVE', workflow: 'NEW' },
  // Fixed and verified by a read, or found compliant again (or mitigated by a person): closed.
  remediated: { compliance: 'PASSED', record: 'ARCHIVED', workflow: 'RESOLVED' },
  resolved: { compliance: 'PASSED', record: 'ARCHIVED', workflow: 'RESOLVED' },
  // Still drifted, risk accepted through the exemption ledger: reviewed, no action. NOTIFIED, not
  // SUPPRESSED: the role is denied SUPPRESSED so a hijacked function cannot hide other products'
  // findings on the hub (docs/security-hub.md, Permissions).
  exempted: { compliance: 'FAILED', record: 'ACTIVE', workflow: 'NOTIFIED' },
  suppressed: { compliance: 'FAILED', record: 'ACTIVE', workflow: 'NOTIFIED' },
  // A person reversed the fix on purpose: the drift is back and its owner knows.
  undone: { compliance: 'FAILED', record: 'ACTIVE', workflow: 'NOTIFIED' },
};

/** ASFF resource types for the CloudFormation types the rules judge; anything else is `Other`. */
const RESOURCE_TYPES: Readonly<Record<string, string>> = {
  'AWS::::Account': 'AwsAccount',
  'AWS::CloudFormation::Stack': 'AwsCloudFormationStack',
  'AWS::CloudTrail::Trail': 'AwsCloudTrailTrail',
  'AWS::CloudWatch::Alarm': 'AwsCloudWatchAlarm',
  'AWS::DynamoDB::Table': 'AwsDynamoDbTable',
  'AWS::EC2::Instance': 'AwsEc2Instance',
  'AWS::EC2::SecurityGroup': 'AwsEc2SecurityGroup',
  'AWS::EC2::Volume': 'AwsEc2Volume',
  'AWS::ECR::Image': 'AwsEcrContainerImage',
  'AWS::ECR::Repository': 'AwsEcrRepository',
  'AWS::ECS::TaskDefinition': 'AwsEcsTaskDefinition',
  'AWS::ElasticLoadBalancing::LoadBalancer': 'AwsElbLoadBalancer',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'AwsElbv2LoadBalancer',
  'AWS::IAM::Role': 'AwsIamRole',
  'AWS::IAM::User': 'AwsIamUser',
  'AWS::KMS::Key': 'AwsKmsKey',
  'AWS::Lambda::Function': 'AwsLambdaFunction',
  'AWS::SNS::Topic': 'AwsSnsTopic',
};
export const asffResourceTypeOf = (resourceType: string): string => RESOURCE_TYPES[resourceType] ?? 'Other';

const partitionOf = (arn: string, fallback: string) => arn.split(':')[1] || fallback;

const clip = (text: string, limit: number) => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);

/**
 * The evidence field where image-findings incidents keep the ids of Inspector's findings for the
 * image (the last part of each finding ARN; whole ids only, as many as the evidence bound holds).
 */
export const INSPECTOR_FINDING_IDS = 'inspectorFindingIds';
const INSPECTOR_FINDING_ID = /^[A-Za-z0-9]{1,128}$/;

/**
 * Inspector's own findings for the incident's image, as Security Hub knows them (product
 * aws/inspector, Id the Inspector finding ARN, in the image's account and region), so the finding
 * links to them instead of repeating them. Anything in the evidence that is not an id is ignored.
 */
export function relatedFindingsOf(
  incident: Pick<Incident, 'evidence' | 'region' | 'account' | 'resourceArn'>,
): RelatedFinding[] {
  const listed = incident.evidence[INSPECTOR_FINDING_IDS];
  if (typeof listed !== 'string' || listed === '') return [];
  const partition = partitionOf(incident.resourceArn, 'aws');
  return [...new Set(listed.split(','))]
    .filter((id) => INSPECTOR_FINDING_ID.test(id))
    .slice(0, RELATED_FINDINGS_LIMIT)
    .map((id) => ({
      ProductArn: `arn:${partition}:securityhub:${incident.region}::product/aws/inspector`,
      Id: `arn:${partition}:inspector2:${incident.region}:${incident.account}:finding/${id}`,
    }));
}

/** The finding for the incident as it stands: every field ASFF requires and those that follow it. */
export function findingOf(incident: Incident, target: FindingTarget): AwsSecurityFinding {
  const state = FINDING_STATES[incident.status];
  const severity = { Label: incident.severity, Original: incident.severity };
  const types = [HIPAA_FINDING_TYPE];
  const related = relatedFindingsOf(incident);
  const hipaa = incident.hipaa.map((citation) => `HIPAA §${citation}`).join(', ');
  const runbookUrl = /^https:\/\//.test(incident.runbook) ? incident.runbook : undefined;
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: findingIdOf(incident.incidentId),
    ProductArn: productArnOf(target),
    ProductName: 'compliance-responder',
    CompanyName: 'compliance-responder',
    GeneratorId: `compliance-responder/${incident.ruleId}`,
    AwsAccountId: incident.account,
    Types: types,
    CreatedAt: incident.detectedAt,
    UpdatedAt: incident.updatedAt,
    FirstObservedAt: incident.detectedAt,
    LastObservedAt: incident.updatedAt,
    Severity: severity,
    Title: clip(`${incident.title}: ${incident.resourceId}`, TITLE_LIMIT),
    Description: clip(
      `compliance-responder rule ${incident.ruleId} found ${incident.resourceType} ${incident.resourceId} ` +
        `in ${incident.account}/${incident.region} out of compliance (${hipaa}). Incident ${incident.incidentId} ` +
        `is ${incident.status} (mode ${incident.mode}); its runbook says what to do.`,
      DESCRIPTION_LIMIT,
    ),
    Remediation: {
      Recommendation: {
        Text: clip(`Follow the ${incident.ruleId} runbook: ${incident.runbook}`, RECOMMENDATION_LIMIT),
        ...(runbookUrl && { Url: runbookUrl }),
      },
    },
    ProductFields: {
      'compliance-responder/IncidentId': incident.incidentId,
      'compliance-responder/RuleId': incident.ruleId,
      'compliance-responder/Status': incident.status,
      'compliance-responder/Mode': incident.mode,
    },
    Resources: [
      {
        Type: asffResourceTypeOf(incident.resourceType),
        Id: incident.resourceArn,
        Partition: partitionOf(incident.resourceArn, target.partition) as 'aws',
        Region: incident.region,
      },
    ],
    Compliance: {
      Status: state.compliance,
      RelatedRequirements: incident.hipaa.map((citation) => `HIPAA ${citation}`),
    },
    RecordState: state.record,
    // Only read when the finding is created; later moves go through BatchUpdateFindings.
    Workflow: { Status: 'NEW' },
    // Providers keep severity, types and related findings here: Security Hub copies them to the
    // top level unless a person changed those there (BatchUpdateFindings).
    FindingProviderFields: {
      Severity: severity,
      Types: types,
      ...(related.length > 0 && { RelatedFindings: related }),
    },
    ...(related.length > 0 && { RelatedFindings: related }),
  };
}

/** What one change of a table item asks of Security Hub, or undefined when it asks nothing. */
export interface FindingChange {
  incidentId: string;
  finding: AwsSecurityFinding;
  /** Set when the status moved to one whose workflow is not NEW (BatchUpdateFindings). */
  workflow?: WorkflowStatus;
}

type IncidentItem = Partial<Incident> & { pk?: unknown };

const isIncident = (item: IncidentItem | undefined): item is Incident & { pk: string } =>
  typeof item?.pk === 'string' && item.pk.startsWith('INCIDENT#') && typeof item.status === 'string';

const relatedIds = (incident: Incident | undefined) =>
  incident
    ? relatedFindingsOf(incident)
        .map((finding) => finding.Id)
        .join(',')
    : '';

/**
 * The import (and workflow move) a change makes: on opening, on each change of status, and when an
 * image's Inspector findings change (an image-findings incident is updated, never duplicated). A
 * rewrite that changes neither (a step recorded, an alert marked sent) makes none.
 */
export function findingChangeOf(
  before: IncidentItem | undefined,
  after: IncidentItem | undefined,
  target: FindingTarget,
): FindingChange | undefined {
  if (!isIncident(after)) return undefined;
  const previous = isIncident(before) ? before : undefined;
  const moved = previous?.status !== after.status;
  if (!moved && relatedIds(previous) === relatedIds(after)) return undefined;
  const workflow = FINDING_STATES[after.status].workflow;
  return {
    incidentId: after.incidentId,
    finding: findingOf(after, target),
    ...(moved && workflow !== 'NEW' && { workflow }),
  };
}
