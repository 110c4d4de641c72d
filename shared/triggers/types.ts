import type { Actor, Observation, TriggerSource } from '../model';

/** What a Config custom rule invocation needs returned: where to send PutEvaluations, and with what. */
export interface ConfigEvaluationContext {
  resultToken: string;
  configRuleName: string;
  /** `ruleParameters`, parsed; always string values. */
  ruleParameters: Readonly<Record<string, string>>;
  /** The configuration item's capture time (or the notification time for periodic rules). */
  orderingTimestamp: string;
}

/** A request to evaluate every resource a rule covers in one account and region (schedule, periodic Config rule). */
export interface SweepRequest {
  source: TriggerSource;
  eventId: string;
  eventName: string;
  accountId: string;
  region: string;
  observedAt: string;
  /** Who made the call, when a region-wide CloudTrail call asked for the sweep (CallMapping.regionWide). */
  actor?: Actor;
}

/**
 * The one shape every trigger adapter returns. Adapters are pure: they validate with zod, never
 * mutate their input, never call AWS, and throw ValidationError (naming the field) for bad input.
 */
export type TriggerEvent =
  | {
      kind: 'resources';
      observations: Observation[];
      /** Set when the event is valid but not drift (e.g. a CloudTrail call that failed). */
      ignored?: string;
      configEvaluation?: ConfigEvaluationContext;
    }
  | { kind: 'sweep'; sweep: SweepRequest; configEvaluation?: ConfigEvaluationContext };
