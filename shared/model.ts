/**
 * The vocabulary every part of the responder shares: what a trigger observed, what a rule found,
 * and the documented incident that records the response. Kept free of AWS SDK types on purpose.
 */

import type { IncidentStatus } from './pipeline/lifecycle';

export const TriggerSource = {
  ConfigRule: 'config-rule',
  CloudTrail: 'cloudtrail',
  ConfigCompliance: 'config-compliance',
  EbsNotification: 'ebs-notification',
  /** An image's scan findings changed: ECR Image Scan, Inspector2 Scan, Inspector2 Finding. */
  ImageScan: 'image-scan',
  Schedule: 'schedule',
  /** A person's order on the command line (`ssh lockdown`): the incident's `lockdown` says who and why. */
  CommandLine: 'command-line',
} as const;
export type TriggerSource = (typeof TriggerSource)[keyof typeof TriggerSource];

export const Severity = { Critical: 'CRITICAL', High: 'HIGH', Medium: 'MEDIUM', Low: 'LOW' } as const;
export type Severity = (typeof Severity)[keyof typeof Severity];

export const Mode = { Off: 'off', Notify: 'notify', Enforce: 'enforce' } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** Who made the call that caused the drift (CloudTrail `userIdentity`). */
export interface Actor {
  type?: string;
  arn?: string;
  principalId?: string;
  accountId?: string;
  /** For assumed-role sessions: the role that issued the session (used by the loop guard). */
  sessionIssuerArn?: string;
  sourceIp?: string;
  userAgent?: string;
}

/** Small, flat, bounded facts about the triggering event. Never a full payload, never tag values. */
export type Summary = Readonly<Record<string, string | number | boolean | null>>;

/** One resource that a trigger says may have drifted. Adapters build these; rules never see raw events. */
export interface Observation {
  source: TriggerSource;
  /** Id of the delivery that produced it: CloudTrail eventID, EventBridge id, Config resultToken. */
  eventId: string;
  /** What happened: CloudTrail eventName, Config messageType, EBS event name, 'Scheduled Event'. */
  eventName: string;
  accountId: string;
  region: string;
  /** CloudFormation-style type: AWS::EC2::Volume; AWS::::Account for region-level settings. */
  resourceType: string;
  resourceId: string;
  observedAt: string;
  actor?: Actor;
  /** Config rule name, for compliance-change events and Config rule invocations. */
  configRuleName?: string;
  /** The resource left the rule's scope or was deleted: evaluate NOT_APPLICABLE, act on nothing. */
  notApplicable?: boolean;
  /**
   * The configuration item a Config rule invocation sent, as sent: its evaluation judges it
   * (shared/pipeline/recorded-item.ts). A function, so the item (a full payload, tag values
   * included) never serialises with the observation into a log, an error or a record.
   */
  sentItem?: () => unknown;
  /**
   * A CloudTrail call's requestParameters, as logged: judged for the responder's own calls
   * (Rule.ownCalls), never stored. A function, for the same reason as sentItem.
   */
  request?: () => unknown;
  summary: Summary;
}

/** Defined with its transitions in the lifecycle module (docs/lifecycle.md); re-exported with the vocabulary. */
export { IncidentStatus } from './pipeline/lifecycle';

export const StepResult = { Running: 'running', Succeeded: 'succeeded', Failed: 'failed' } as const;
export type StepResult = (typeof StepResult)[keyof typeof StepResult];

/** The exact API call that reverses a step, so a human (or `incidents undo`) can replay it. */
export interface UndoCall {
  service: string;
  action: string;
  input: Readonly<Record<string, unknown>>;
}

export interface Step {
  action: string;
  at: string;
  result: StepResult;
  error?: string;
  undo?: UndoCall;
  /** Short outputs worth keeping (ids of created resources). */
  output?: Summary;
}

export interface AlertRecord {
  status: 'pending' | 'sent';
  messageId?: string;
  at: string;
}

/**
 * One change of an incident's status, appended by the incident store on every move that changes it
 * (a move to the same status only rewrites statusReason). The first entry of an incident opened since
 * the history exists has no `from`: it is the opening.
 */
export interface StatusTransition {
  from?: IncidentStatus;
  to: IncidentStatus;
  at: string;
  /** Who moved it: the responder's function, or the ARN of the person whose command did. */
  by: string;
  reason?: string;
}

export interface Incident {
  schemaVersion: 1;
  incidentId: string;
  ruleId: string;
  title: string;
  severity: Severity;
  hipaa: readonly string[];
  account: string;
  region: string;
  resourceType: string;
  resourceId: string;
  resourceArn: string;
  detectedAt: string;
  updatedAt: string;
  /** configRuleName: the Config rule that reported the drift (re-evaluated after a fix). */
  trigger: { source: TriggerSource; eventId: string; eventName: string; configRuleName?: string };
  actor?: Actor;
  /** Why the rule judged this resource non-compliant, bounded, without PHI or secrets. */
  evidence: Summary;
  reason: string;
  mode: Mode;
  status: IncidentStatus;
  /** Why the responder did not remediate (notify mode, guard tripped, exemption, refusal). */
  statusReason?: string;
  /** The drift was the resource's deletion: a resource of the same ARN found later is judged afresh. */
  resourceGone?: true;
  steps: Step[];
  alert?: AlertRecord;
  runbook: string;
  /** The exemption ledger's entry that exempted this finding (status exempted). */
  exemption?: ExemptionRecord;
  /** Exemption tags without a ledger entry, or a ledger entry beyond its limits: handled as usual, noted here. */
  exemptionRequest?: ExemptionRequest;
  /** Long remediations (snapshots take hours) persist here between invocations. */
  workflow?: Workflow;
  /** The audit entry of `incidents undo`: at most one per incident. */
  undo?: UndoRecord;
  /** A person closed this drift with `ssh lockdown` (trigger `command-line`): who, why, what they overrode. */
  lockdown?: LockdownRecord;
  /**
   * A person's SSH grant or revoke (`ssh grant`, `ssh revoke`; trigger `command-line`): the incident
   * records the change itself, holds no drift lock, and its steps are that change's AWS calls.
   */
  grantChange?: GrantChangeRecord;
  /**
   * Every change of status, oldest first (at most MAX_TRANSITIONS, shared/pipeline/incident-store.ts).
   * Absent on incidents recorded before the history existed; without an opening entry (no `from` on
   * the first) on those that moved since. The report reads the status at the end of its period here.
   */
  transitions?: StatusTransition[];
  /** Set when the history was full: changes from this time on are not in `transitions`. */
  transitionsTruncatedAt?: string;
  /**
   * A person documented how the risk is mitigated (`incidents resolve --mitigation`): the latest one.
   * An incident reopened by a finding it did not cover takes one more; the earlier ones are kept in
   * `earlierMitigations`, oldest first.
   */
  mitigation?: MitigationRecord;
  earlierMitigations?: MitigationRecord[];
  /**
   * The individual findings the incident holds now (a rule whose incidents end with a mitigation):
   * ids and severities only, at most MAX_FINDING_REFS. A mitigation covers these.
   */
  findings?: FindingRef[];
  /**
   * How many findings there were when `findings` was cut at MAX_FINDING_REFS; absent when it holds
   * them all. A mitigation records it (`coversTotal`): any more than that is not covered.
   */
  findingsTotal?: number;
}

/** One finding behind an incident, as a mitigation covers it: its id (a CVE, a finding id) and severity. */
export interface FindingRef {
  id: string;
  severity: string;
}

/** A documented mitigation: what a person says reduces the risk, who said it and when. */
export interface MitigationRecord {
  text: string;
  /** The caller's ARN (STS GetCallerIdentity). */
  by: string;
  at: string;
  /**
   * The findings the incident held when it was recorded: a later finding outside them (or one rated
   * higher since) reopens the incident. Absent on mitigations recorded before it was kept: those
   * cover every finding of the incident, as they did.
   */
  covers?: FindingRef[];
  /** How many findings the incident held when `covers` was cut at MAX_FINDING_REFS (Incident.findingsTotal). */
  coversTotal?: number;
}

/** Who ordered a lockdown, why, and what it went past; one run's incidents share its runId. */
export interface LockdownRecord {
  /** The caller's ARN (STS GetCallerIdentity). */
  by: string;
  /** `ssh lockdown --reason`. */
  reason: string;
  runId: string;
  startedAt: string;
  /** `--emergency`: closed past the blast-radius guard (counted by it, never refused). */
  emergency?: true;
  /** `--ignore-exemptions`: the ledger's exemption in force that this lockdown closed the path despite. */
  exemptionOverridden?: ExemptionRecord;
  /**
   * How many open paths the lockdown set out to close (the plan confirmed), the same on each of its
   * incidents: the report compares it with the incidents it finds, since a path another incident was
   * remediating opens none. Absent on lockdowns recorded before it was.
   */
  pathsToClose?: number;
  /** How many open paths it left alone because an exemption covered them (absent: not recorded). */
  pathsExempt?: number;
  /**
   * `ssh lockdown --account` in a member account of an organisation deployment: the member on-call
   * role's session that closed this path (`arn:aws:sts::<member>:assumed-role/<stack>-member-on-call/<incident id>`),
   * as the member's CloudTrail names it; `by` stays the person's own caller ARN. Absent at home.
   */
  memberSession?: string;
}

/** Who granted or ended SSH access on the command line, why, and what the grant covers. */
export interface GrantChangeRecord {
  action: 'grant' | 'revoke';
  grantId: string;
  /** The caller's ARN (STS GetCallerIdentity). */
  by: string;
  /** `--reason`. */
  reason: string;
  at: string;
  /** The person the grant is for. */
  grantedTo: string;
  /** What the grant opens, in words: `sg-… 203.0.113.7/32 port 22 (eu-west-1)`, `IAM user dev-alice`. */
  target: string;
  /** When the grant ends (or ended). */
  expiresAt: string;
  /**
   * deployment: organisation - the member role session that made the change in a member account
   * (`arn:aws:sts::<member>:assumed-role/<home stack>-member-approver/<incident id>`); absent at home.
   */
  memberSession?: string;
}

export const UndoCallResult = {
  Pending: 'pending',
  Succeeded: 'succeeded',
  Failed: 'failed',
  NotRun: 'not-run',
} as const;
export type UndoCallResult = (typeof UndoCallResult)[keyof typeof UndoCallResult];

/** Who replayed an incident's undo calls, when, and what each call did. */
export interface UndoRecord {
  by: string;
  /**
   * An undo in a member account of an organisation deployment: the member on-call role's session
   * that made its calls (`arn:aws:sts::<member>:assumed-role/<stack>-member-on-call/undo-<incident>`),
   * as the member's CloudTrail names it; `by` stays the person's own caller ARN.
   */
  memberSession?: string;
  /** Why the person reversed it (`incidents undo --reason`). Absent on undos recorded before it was asked. */
  reason?: string;
  startedAt: string;
  finishedAt?: string;
  result: 'running' | 'succeeded' | 'failed';
  /** How long the resource was to be exempted so the responder does not revert the undo. */
  exemptForMinutes: number;
  /** The ledger exemption that keeps the responder from redoing it, once set. */
  exemption?: { exemptionId: string; until: string };
  /** The alert telling on-call it was reversed: pending before Publish, sent with the message id after. */
  alert?: AlertRecord;
  /** In the order they ran: the succeeded steps' undo calls, last step first. */
  calls: { step: number; call: UndoCall; result: UndoCallResult; at?: string; error?: string }[];
}

/** An exemption as an incident records it: the ledger entry, who set it, why and until when. */
export interface ExemptionRecord {
  exemptionId: string;
  reason: string;
  until: string;
  /** The caller ARN that set it in the ledger. */
  setBy: string;
  setAt: string;
}

/**
 * An exemption asked for and not in force: exemption tags seen on the resource (never their reason
 * text: tag values stay out of incidents), or a ledger entry beyond the ledger's limits.
 */
export interface ExemptionRequest {
  until: string;
  /** Says why it is not in force: not confirmed (with the command that confirms it), or which limit it breaks. */
  note: string;
}

export interface Workflow {
  startedAt: string;
  /** What the remediation waits for before it can continue, in words; absent while it runs. */
  waitingFor?: string;
  /** Facts a later invocation needs (e.g. whether the instance was running), bounded scalars. */
  state: Summary;
}
