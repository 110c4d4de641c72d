/**
 * Every metric the responder emits, by name, in one namespace. The code counts through these
 * constants and the alarm contract test reads them, so an alarm can never watch a metric nobody
 * emits (a silent alarm is worse than none).
 */
export const METRICS_NAMESPACE = 'ComplianceResponder';
export const SERVICE_NAME = 'compliance-responder';

export const Metric = {
  EventsReceived: 'EventsReceived',
  /** An event or sweep skipped because the rule's mode is off (MODE_<RULE>=off). */
  RuleOff: 'RuleOff',
  OwnEventsIgnored: 'OwnEventsIgnored',
  ResourcesSwept: 'ResourcesSwept',
  /** Resources a sweep listed and left unjudged: outside the rule's narrowed scope (shared/rules/scope.ts). */
  ResourcesOutOfScope: 'ResourcesOutOfScope',
  /** A region the sweep could not read (throttled, denied): the sweep fails after the others. */
  SweepRegionFailed: 'SweepRegionFailed',
  /** A resource the sweep could not judge (its alert failed, a read threw): the sweep fails after the others. */
  SweepResourceFailed: 'SweepResourceFailed',
  /** A sweep unit that failed or was refused: SQS delivers it again, then dead-letters it. */
  SweepUnitFailed: 'SweepUnitFailed',
  /**
   * An event naming an account that is not an ACTIVE member of the organisation, or another account
   * than its own for a rule that watches only the home stack: not acted on.
   */
  AccountRefused: 'AccountRefused',
  /** A member account's role could not be assumed: a notify-only incident says so (docs/organisation.md). */
  MemberRoleUnavailable: 'MemberRoleUnavailable',
  DriftDetected: 'DriftDetected',
  DuplicatesCollapsed: 'DuplicatesCollapsed',
  RemediationWaiting: 'RemediationWaiting',
  Remediated: 'Remediated',
  RemediationDeclined: 'RemediationDeclined',
  RemediationFailed: 'RemediationFailed',
  RemediationResumed: 'RemediationResumed',
  /** A remediation waited past workflowStuckMinutes and was failed. */
  RemediationStuck: 'RemediationStuck',
  AlertsSent: 'AlertsSent',
  /** The blast-radius guard switched the responder to notify-only. */
  GuardTripped: 'GuardTripped',
  /** StartConfigRulesEvaluation after a fix failed (best effort; the fix stands). */
  ConfigReevaluationFailed: 'ConfigReevaluationFailed',
  /** The heartbeat ran (1 a run): its absence is what pages. */
  Heartbeat: 'Heartbeat',
  /** What the heartbeat found broken: missing or disabled triggers, a trail not logging. */
  HeartbeatProblems: 'HeartbeatProblems',
} as const;
export type Metric = (typeof Metric)[keyof typeof Metric];

/** Dimensions every rule function's metrics carry (Powertools default dimensions). */
export const ruleDimensions = (ruleId: string) => ({ service: SERVICE_NAME, ruleId });
/** Dimensions of the heartbeat's metrics. */
export const HEARTBEAT_DIMENSIONS = { service: SERVICE_NAME, function: 'heartbeat' } as const;
