import type { ExemptionRecord, ExemptionRequest } from '../model';
import type { Rule } from '../rules/rule';
import { type Exemption, type ExemptionLedger, isInForce, MAX_EXEMPTION_MS } from './ledger';
import { exemptionBeyondLimits } from './limits';

/** What a resource's exemption tags ask for. */
export interface TaggedExemption {
  reason: string;
  until: string;
}

/**
 * An exemption requested by tag: a reason and an expiry in the future (at most a year ahead). Only a
 * request: anyone who can tag can write it, so the pipeline exempts what the exemption ledger
 * (shared/exemptions) holds and notes a tag request on the incident.
 */
export function activeExemption(
  tags: Readonly<Record<string, string>>,
  tagNames: { reason: string; until: string },
  now: Date,
): TaggedExemption | undefined {
  const reason = tags[tagNames.reason]?.trim();
  const untilText = tags[tagNames.until]?.trim();
  if (!reason || !untilText) return undefined;
  const until = new Date(untilText);
  if (Number.isNaN(until.getTime()) || until <= now) return undefined;
  if (until.getTime() - now.getTime() > MAX_EXEMPTION_MS) return undefined;
  return { reason: reason.slice(0, 256), until: until.toISOString() };
}

/** What the ledger (and the resource's tags) say about one finding. */
export interface ExemptionDecision {
  /** The ledger's exemption in force: the finding is recorded as exempted, nobody is paged. */
  exemption?: ExemptionRecord;
  /**
   * An exemption asked for but not in force (a tag pair without a ledger entry, or a ledger entry
   * beyond the ledger's limits): the drift is handled as usual, the incident says so.
   */
  exemptionRequest?: ExemptionRequest;
}

/** The ledger entry as an incident records it: who, why, until. */
export const recordOf = (exemption: Exemption): ExemptionRecord => ({
  exemptionId: exemption.exemptionId,
  reason: exemption.reason,
  until: exemption.until,
  setBy: exemption.setBy,
  setAt: exemption.setAt,
});

const SHELL_SAFE = /^[\w:/+=,.@-]+$/;
const quoted = (text: string) => (SHELL_SAFE.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`);

/**
 * The command that confirms a tag request. The reason is left for the person confirming to write:
 * they become accountable for it, and tag values are never copied into incidents or alerts.
 */
export const confirmCommand = (ruleId: string, resourceArn: string, until: string): string =>
  `compliance-responder exemptions add ${quoted(resourceArn)} --rule ${ruleId} --until ${until} --reason '<why: a change ticket>'`;

/**
 * Exempt only what the ledger holds in force and within its limits: one consistent read of the rule
 * and resource's current exemption (exemptionDecision decides over it).
 */
export async function decideExemption(
  ledger: ExemptionLedger,
  rule: Pick<Rule, 'id' | 'neverExempt'>,
  resource: { arn: string; tags: Readonly<Record<string, string>> },
  tagNames: { reason: string; until: string },
  now: Date,
): Promise<ExemptionDecision> {
  const current = rule.neverExempt ? undefined : await ledger.current(rule.id, resource.arn);
  return exemptionDecision(current, rule, resource, tagNames, now);
}

/**
 * What the ledger's current exemption of the rule and resource (as read, consistently) decides,
 * re-checked here because anyone who can write the table could have written it. An exemption
 * beyond a limit and exemption tags are requests, noted on the incident (the tags with the command
 * that would confirm them); the drift is handled as usual.
 */
export function exemptionDecision(
  current: Exemption | undefined,
  rule: Pick<Rule, 'id' | 'neverExempt'>,
  resource: { arn: string; tags: Readonly<Record<string, string>> },
  tagNames: { reason: string; until: string },
  now: Date,
): ExemptionDecision {
  if (rule.neverExempt) return {};
  const ruleId = rule.id;
  const inForce =
    current && current.ruleId === ruleId && current.resourceArn === resource.arn && isInForce(current, now)
      ? current
      : undefined;
  const ignored = inForce && exemptionBeyondLimits(inForce, now, rule.neverExempt);
  if (inForce && !ignored) return { exemption: recordOf(inForce) };
  const notes = inForce ? [`exemption ${inForce.exemptionId} in the ledger is ignored: ${ignored}`] : [];
  const tagged = activeExemption(resource.tags, tagNames, now);
  if (tagged) {
    notes.push(
      `an exemption was requested by tag (${tagNames.reason}) and is not confirmed in the exemption ledger; to confirm: ${confirmCommand(ruleId, resource.arn, tagged.until)}`,
    );
  }
  const until = tagged?.until ?? inForce?.until;
  return until ? { exemptionRequest: { until, note: notes.join('; ') } } : {};
}
