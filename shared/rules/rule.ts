import type { AwsClients } from '../aws/clients';
import type { Settings } from '../config';
import type { FindingRef, Incident, Mode, Observation, Severity, Summary, UndoCall } from '../model';
import type { ItemReading, RecordedItem } from '../resources/config-item';
import { type RuleScope, scoped } from './scope';
import type { RuleSettings } from './settings';

/**
 * A string holding values known once the stack is deployed (see Stack), as CloudFormation's Fn::Sub
 * writes them: scripts/lib/deployment.ts writes these into the template.
 */
export type StackValue = string;

/** The deployed stack's values, for ARNs in statements and for request filters. */
export const Stack = {
  partition: `\${AWS::Partition}`,
  accountId: `\${AWS::AccountId}`,
  region: `\${AWS::Region}`,
  /** The stack's name: every resource it creates is named `<stack>-...`. */
  name: `\${AWS::StackName}`,
  /** A stack resource's Ref: a table's name, a topic's ARN, a key's id. */
  ref: (logicalId: string): StackValue => `\${${logicalId}}`,
  /** A stack resource's ARN. */
  arn: (logicalId: string): StackValue => `\${${logicalId}.Arn}`,
} as const;

/** An EventBridge content filter on a request field (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html). */
export type RequestMatch =
  | StackValue
  | number
  | boolean
  | { readonly prefix: StackValue }
  | { readonly wildcard: StackValue }
  /** The field is absent (EventBridge's default bus when a request names none). */
  | { readonly exists: false };

/**
 * Narrows some CloudTrail calls to requests that match: e.g. self-protection routes only the calls on
 * the stack's own resources. All its calls are logged by one service.
 */
export interface CallFilter {
  readonly eventNames: readonly string[];
  /** The service, where another logs calls of the same name (RemovePermission: Lambda and EventBridge). */
  readonly eventSource?: string;
  readonly requestParameters: Readonly<Record<string, readonly RequestMatch[]>>;
}

/** One statement of a rule role's policy (Effect Allow). */
export interface PermissionStatement {
  readonly sid: string;
  readonly actions: readonly string[];
  /** ARNs, with stack values (see StackValue). Absent: every resource ("*"). */
  readonly resources?: readonly StackValue[];
  /** IAM conditions: operator → key → values. */
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
  /** Why it is this wide, or this narrow. */
  readonly why?: string;
  /**
   * The call (`service:Action`) on whose behalf AWS checks these actions: the function never calls
   * their service itself (ECR reads Inspector's findings for DescribeImageScanFindings), so no SDK
   * client of it is built, mocked or throttled in tests.
   */
  readonly checkedOn?: string;
}

/**
 * What a rule with managed Config rules needs to ask them to evaluate again after a verified fix
 * (shared/pipeline/config-evaluations.ts).
 */
export const REEVALUATE_PAIRED_CONFIG_RULES: PermissionStatement = {
  sid: 'ReevaluatePairedConfigRules',
  actions: ['config:StartConfigRulesEvaluation'],
  resources: [`arn:${Stack.partition}:config:*:${Stack.accountId}:config-rule/*`],
  why: 'Best effort; Config rule ARNs carry ids, not names.',
};

/** Every IAM action of these statements, once each, in the order they first appear. */
export const statementActions = (statements: readonly PermissionStatement[]): string[] => [
  ...new Set(statements.flatMap((statement) => statement.actions)),
];

/** Every IAM action a rule's statements allow, once each (in every deployment). */
export const actionsOf = (rule: Pick<Rule, 'permissions'>): string[] => statementActions(rule.permissions);

/** The IAM actions a rule's role holds only in an organisation deployment (Rule.organisation). */
export const organisationActionsOf = (rule: Pick<Rule, 'organisation'>): string[] =>
  statementActions(rule.organisation?.permissions ?? []);

/**
 * What a rule adds in an organisation deployment only (deployment=organisation, docs/organisation.md),
 * where a single account's stack has nothing of it: the CloudTrail calls routed to it there (each
 * filter one EventBridge rule with Condition IsOrganisation) and the statements its role gains there
 * (a RolePolicy with the same condition). scripts/lib/deployment.ts writes both.
 */
export interface OrganisationAdditions {
  readonly cloudTrail: readonly CallFilter[];
  readonly permissions: readonly PermissionStatement[];
}

/** Where a rule listens. The trigger adapters know event shapes; this says which events matter. */
export interface Triggers {
  /**
   * CloudTrail API calls, as EventBridge "AWS API Call via CloudTrail" patterns, one per service that
   * logs them. Which service logs each call, and which resource it names, the resource-type modules
   * declare (shared/resources). Calls a filter names are routed only when their request matches it.
   */
  cloudTrail?: { readonly eventNames: readonly string[]; readonly filters?: readonly CallFilter[] };
  /** Resource types a Config custom rule evaluates (AWS::::Account for region-level settings). */
  configResourceTypes?: readonly string[];
  /**
   * AWS managed Config rules whose compliance changes this rule remediates: the source identifier,
   * and the rule name (as the HIPAA conformance pack deploys it) the compliance-change patterns match
   * by prefix.
   */
  managedConfigRules?: readonly {
    readonly sourceIdentifier: string;
    readonly ruleName: string;
    /**
     * The type the managed rule evaluates, when not the rule's own (a listener of the load balancer
     * the rule judges): its compliance changes reach the rule, whose load finds its resource from it.
     */
    readonly resourceType?: string;
  }[];
  /** The stack creates a Config custom rule `<stack>-<id>` for it when `configRules` is true. */
  customConfigRule?: boolean;
  /**
   * Events AWS services send on their own, not API calls (EBS snapshot and volume notifications):
   * routed by source and detail type.
   */
  serviceEvents?: readonly {
    readonly source: string;
    readonly detailTypes: readonly string[];
    /** Only events whose detail has one of these values at each key (an image deletion, not a push). */
    readonly detail?: Readonly<Record<string, readonly string[]>>;
  }[];
  /** The sweep: an EventBridge schedule expression, the default of its deployment parameter. */
  schedule: string;
  /** The deployment parameter that sets the schedule, when not the shared `sweepSchedule`. */
  scheduleParameter?: string;
  /** Where a scheduled sweep looks: every swept region (default), or the home region only (the stack itself). */
  sweepScope?: 'regions' | 'home-region';
}

/** A resource as a rule read it: its ARN, its tags (for exemptions), and the state the rule judges. */
export interface Loaded<State> {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly arn: string;
  readonly region: string;
  readonly accountId: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly state: State;
  /**
   * The tag call that took it out of its rule's scope, confirmed by this read (shared/rules/scope.ts
   * sets it; rules never do).
   */
  readonly leftScopeBy?: string;
}

/**
 * A resource a resumed listing went by without reading it (Rule.listGlobalAfter): only its place in
 * the listing, never judged.
 */
export interface PassedOver {
  readonly arn: string;
  readonly passedOver: true;
}

export const isPassedOver = (listed: Loaded<unknown> | PassedOver): listed is PassedOver =>
  'passedOver' in listed;

export interface ResourceRef {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly region: string;
  readonly accountId: string;
  /** The CloudTrail call that led here, when an event did (a change no read can tell is judged by its call). */
  readonly eventName?: string;
  /** What that call's request said, as its resource type's mapping summarised it (bounded facts). */
  readonly callFacts?: Summary;
}

export type Verdict =
  | {
      readonly compliant: true;
      /** Not judged: outside the rule's scope (shared/rules/scope.ts). Config's annotation says why. */
      readonly outOfScope?: string;
      /**
       * Compliant only as far as a narrow read can tell (an image deleted, no ECS task of its
       * region running it): the incident this ends records the sentence, naming what was and was
       * not read, and pages once, so a person can check the rest.
       */
      readonly endsIncident?: string;
    }
  | {
      readonly compliant: false;
      /** One sentence a person understands: why this is drift. */
      readonly reason: string;
      /** Bounded facts behind the reason; never tag values, secrets or PHI. */
      readonly evidence: Summary;
      /** What enforce mode does about it, in words (shown in notify mode and by `scan`). */
      readonly plan: string;
      /** The drift is the resource's deletion: once the resource exists again, it is judged afresh. */
      readonly resourceGone?: true;
      /**
       * The individual findings behind it, by id and severity (rules whose incidents end with a
       * mitigation): a mitigation covers those the incident held; one outside them reopens it.
       */
      readonly findings?: readonly FindingRef[];
      /**
       * What a read can still tell about drift an incident already holds, too little to open one by
       * itself (an image deleted while tasks still run it: its findings cannot be read any more): it
       * updates that incident's reason and adds to its evidence, and never opens or pages.
       */
      readonly updatesOnly?: true;
    };

export type Finding = Extract<Verdict, { compliant: false }>;

/** A call one of the responder's own roles made, as CloudTrail logged it (see Rule.ownCalls). */
export interface OwnCallRecord {
  readonly eventName: string;
  readonly resourceType: string;
  readonly resourceId: string;
  /** The request's parameters as logged: judged, never stored (only field names may leave). */
  readonly request: unknown;
}

/**
 * The one exception to the loop guard: calls the responder's own roles make that a rule judges
 * anyway, because IAM cannot limit their request fields (shared/aws/own-calls.ts). Routed only when
 * one of those roles made them (scripts/lib/deployment.ts), and judged by the call, never by a
 * read: a finding is recorded and alerted in notify mode, nothing is undone.
 */
export interface OwnCalls {
  readonly eventNames: readonly string[];
  /** The finding when the call is outside what the responder ever sends; undefined otherwise. Pure. */
  judge(call: OwnCallRecord): Finding | undefined;
}

export interface StepOptions<T> {
  /** The exact call that reverses this step, recorded with it. */
  undo?: UndoCall;
  /** Short outputs worth keeping, e.g. ids of what the step created. */
  output?: (result: T) => Summary;
  /** A read (reading a change back): recorded with the next write, not written ahead of it. */
  readOnly?: boolean;
}

/** Runs one AWS change, its intent recorded in the incident before it runs and its result after. */
export type StepRecorder = <T>(action: string, run: () => Promise<T>, options?: StepOptions<T>) => Promise<T>;

export interface RemediationContext {
  readonly aws: AwsClients;
  readonly settings: Settings;
  readonly step: StepRecorder;
  /** The incident this remediation documents: tag what you create with it, so a resume finds it. */
  readonly incidentId: string;
  /** State that survives between invocations of a long remediation. */
  readonly workflow: { readonly state: Summary; save(patch: Summary): Promise<void> };
  /** The invocation's time left, in ms (PipelineDeps.remainingMs): waits end before it does. Absent: no deadline. */
  readonly remainingMs?: () => number;
}

/** A remediation that must wait (a snapshot completing) returns this; an event or the sweep resumes it. */
export interface Waiting {
  readonly waitingFor: string;
}

/** A rule's words in README's generated tables (scripts/readme-tables.ts). */
export interface RuleReadme {
  /** What enforce mode does, in a sentence or two: the rules table's "what enforce does". */
  readonly enforce: string;
  /** In brackets after the HIPAA citations, e.g. when the safeguard is a policy, not the law's text. */
  readonly safeguardNote?: string;
  /** In brackets after "`off`, `notify` or `enforce`" in the parameters table: when to pick which. */
  readonly modeNote?: string;
}

/**
 * One HIPAA safeguard. Self-contained: adding a rule is this file, one registry line, one runbook,
 * one thin handler and its tests (its function, role, triggers and environment in the stack follow
 * from it: scripts/lib/deployment.ts); a resource type no rule judged before also gets its
 * module in shared/resources (its ARN, how CloudTrail names it, and how Config's item reads). The contract tests check
 * `permissions` covers every SDK command the rule sends, and that what it declares is served
 * (test/contract/rule-kit.test.ts).
 */
export interface Rule<State = unknown> {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly hipaa: readonly string[];
  /** Path of the runbook inside the repository: docs/runbooks/<id>.md */
  readonly runbook: string;
  /** What README says of the rule: `npm run readme` writes its rules-table row and its mode row. */
  readonly readme: RuleReadme;
  readonly defaultMode: Mode;
  /**
   * Settings only this rule (or a few rules) reads, by the name its code reads them under
   * (shared/rules/settings.ts): its parameters, variables and README rows are generated from them.
   */
  readonly settings?: RuleSettings;
  /**
   * Which of its resources it judges, when a setting may narrow that (shared/rules/scope.ts):
   * applied by defineRule to load, detect and remediate, never silent when narrowed.
   */
  readonly scope?: RuleScope;
  readonly resourceType: string;
  /** Types its findings are also about, besides resourceType (declared in shared/resources). */
  readonly alsoJudges?: readonly string[];
  /**
   * Its incidents end when a person records a mitigation (`incidents resolve <id> --mitigation`),
   * not only when the resource reads compliant: the drift is a risk accepted and documented, not a
   * setting put back. Its remediate declines.
   */
  readonly endsWithMitigation?: true;
  /**
   * The sweep also re-judges the resource of each incident of the rule that holds its drift lock and
   * that no listing showed (an image deleted from its repository: the incident ends once nothing
   * runs it, which no listing of existing images can tell).
   */
  readonly rejudgesHeldDrift?: true;
  /** Why no exemption may silence its findings, when none may. */
  readonly neverExempt?: string;
  /**
   * Why the rule acts only in the security (home) account and has no role in member accounts
   * (scripts/lib/member.ts), when it does not: self-protection watches the home stack.
   */
  readonly homeStackOnly?: string;
  readonly triggers: Triggers;
  /**
   * Roles whose changes are not drift for this rule, besides the responder's own (the loop guard):
   * self-protection trusts the stack's deploy role.
   */
  trustedRoleArns?(settings: Settings): readonly string[];
  /** The responder's own calls this rule judges despite the loop guard (self-protection only). */
  readonly ownCalls?: OwnCalls;
  /** What it adds in an organisation deployment only (self-protection: the bus's organisation statement). */
  readonly organisation?: OrganisationAdditions;
  /** What load, list, remediate and verify may do: its role's own policy, statement for statement. */
  readonly permissions: readonly PermissionStatement[];
  /**
   * The undo calls remediate records (`service:action`): the only ones `incidents undo` replays
   * for this rule's incidents. Absent: none.
   */
  readonly undoActions?: readonly string[];
  /**
   * How long `incidents undo` exempts the resource by default so the responder does not redo the
   * undo at once: the shortest a person sensibly needs (`--exempt-for` asks for another). Absent: 24h.
   */
  readonly undoExemptionMinutes?: number;
  /**
   * For each type in triggers.configResourceTypes that Config records: the same Loaded load() would
   * read, from the configuration item Config sent (shared/resources/config-item.ts), built from the
   * resource type's `configItem`. NotInItem when the item lacks a fact the verdict needs. Pure.
   */
  readonly fromConfigItem?: Readonly<Record<string, (item: RecordedItem) => ItemReading<State>>>;
  /** Reads the resource's current state; undefined when it no longer exists. Read-only. */
  load(ref: ResourceRef, aws: AwsClients, settings: Settings): Promise<Loaded<State> | undefined>;
  /**
   * The verify read after remediate: only what remediate can change, read again; the rest (the
   * resource's identity, its tags) kept from `before`, the load that preceded it. Absent: load.
   * Undefined when the resource no longer exists. Read-only.
   */
  reload?(before: Loaded<State>, aws: AwsClients, settings: Settings): Promise<Loaded<State> | undefined>;
  /** Every resource the rule covers in one account and region (the sweep). Read-only. */
  list(
    scope: { accountId: string; region: string },
    aws: AwsClients,
    settings: Settings,
  ): AsyncIterable<Loaded<State>>;
  /**
   * Resources of no region (IAM users): a sweep lists them once, whichever regions it covers, so a
   * sweep that leaves out us-east-1 still covers them (shared/pipeline/listings.ts). Read-only.
   */
  listGlobal?(accountId: string, aws: AwsClients, settings: Settings): AsyncIterable<Loaded<State>>;
  /**
   * listGlobal resumed after a resource an earlier sweep unit judged: the same listing in the same
   * order, each resource up to and including `after` passed over unread (where reading each costs a
   * call: IAM users' keys), the rest read. When `after` is gone, every resource is passed over and
   * the unit reads listGlobal whole instead. Read-only.
   */
  listGlobalAfter?(
    accountId: string,
    aws: AwsClients,
    settings: Settings,
    after: string,
  ): AsyncIterable<Loaded<State> | PassedOver>;
  /** Pure judgement of one resource. */
  detect(resource: Loaded<State>, settings: Settings): Verdict;
  /**
   * Brings the resource back into compliance; every AWS change goes through ctx.step. Must be
   * re-entrant: after a crash, or when it returned Waiting, it runs again and continues from what
   * it finds in AWS.
   */
  remediate(
    resource: Loaded<State>,
    finding: Finding,
    ctx: RemediationContext,
  ): Promise<Waiting | undefined> | Promise<void>;
  /**
   * Drift the rule's own remediation keeps on purpose (a replaced original, kept as evidence):
   * true only when `incident`'s record and a fresh read of AWS prove this resource is what that
   * incident replaced, never from the resource's tags. Read-only. Such a resource stays
   * NON_COMPLIANT, answered by that incident, and nothing is opened or done again
   * (shared/pipeline/kept-evidence.ts).
   */
  keptAsEvidence?(resource: Loaded<State>, incident: Incident, aws: AwsClients): Promise<boolean>;
  /**
   * For continuation events (EBS notifications): the incident whose workflow they advance, as a
   * tag names it, and the resource the notified one was made from, read from its own fields. The
   * pipeline follows it only when that is the incident's own resource.
   */
  incidentFor?(
    observation: Observation,
    aws: AwsClients,
  ): Promise<{ incidentId: string; madeFrom: string } | undefined>;
}

/**
 * Erases a rule's state type for the registry and the pipeline, and applies its scope (if it
 * declares one). Sound because the pipeline only
 * hands a rule the states that the same rule's load() and list() produced.
 */
export const defineRule = <State>(rule: Rule<State>): Rule => scoped(rule) as unknown as Rule;

/** The resource types a rule's findings are about. */
export const typesJudgedBy = (rule: Pick<Rule, 'resourceType' | 'alsoJudges'>): readonly string[] => [
  rule.resourceType,
  ...(rule.alsoJudges ?? []),
];
