import type { Settings } from '../config';
import { RemediationDeclined } from '../errors';
import { inTagScope, type TagScope } from '../setting-schemas';
import type { Finding, Loaded, ResourceRef, Rule, Verdict, Waiting } from './rule';
import type { RuleSetting } from './settings';

/**
 * A rule's scope, kit-level: which resources it judges, `all` or those a tag marks, set by one of
 * its settings (`tag:<key>[=<value>]`). Never silent when narrowed: a resource out of scope is
 * NOT_APPLICABLE with a note naming the scope (never COMPLIANT), the sweep counts what it left
 * out, a cold start warns, and a tag call that takes a resource out of the scope is recorded and
 * paged, confirmed by a fresh read and never remediated (a tag is a request, not an authority).
 * defineRule applies it to the rule's load, detect and remediate, so every caller (pipeline,
 * `scan`, verify) sees the same judgement.
 */
export interface RuleScope {
  /** The setting that narrows it; one of the rule's own settings. */
  readonly setting: RuleSetting<TagScope>;
  /** What the rule judges, singular, in words: `instance`, `load balancer`. */
  readonly covers: string;
}

/** The scope as words: the tag's key, never its value (a value may itself say something). */
export const scopeLabel = (scope: TagScope): string => (scope.kind === 'all' ? 'all' : `tag:${scope.key}`);

/** The scope a rule runs with now, as loaded at cold start. */
export function scopeOf(scope: RuleScope, settings: Pick<Settings, 'ruleSettings'>): TagScope {
  const { variable } = scope.setting;
  if (!settings.ruleSettings.has(variable))
    throw new Error(`setting ${variable} was not loaded: no rule given to loadSettings declares it`);
  return settings.ruleSettings.get(variable) as TagScope;
}

export interface NarrowedScope {
  readonly ruleId: string;
  /** The stage parameter, e.g. `elbListenerScope`. */
  readonly setting: string;
  readonly scope: string;
}

/** The rule's scope when a setting narrows it below every resource; undefined when it covers all. */
export function narrowedScope(
  rule: Pick<Rule, 'id' | 'scope'>,
  settings: Pick<Settings, 'ruleSettings'>,
): NarrowedScope | undefined {
  if (!rule.scope) return undefined;
  const scope = scopeOf(rule.scope, settings);
  if (scope.kind === 'all') return undefined;
  return { ruleId: rule.id, setting: rule.scope.setting.parameter, scope: scopeLabel(scope) };
}

/** The cold-start warning of a narrowed scope, in words (keys, never values). */
export const narrowedScopeWarning = (narrowed: NarrowedScope): string =>
  `${narrowed.ruleId} judges only resources in its scope (${narrowed.setting} ${narrowed.scope}); the others are NOT_APPLICABLE, and each sweep counts those its listing returns`;

/**
 * What a tag call did, from its facts (shared/resources/resource-type.ts tagCallFacts). `keys`
 * undefined: every tag (a removal without keys), or a list too long to have been kept whole.
 */
function tagCallOf(ref: ResourceRef): { change: 'set' | 'remove'; keys?: string[]; cut?: true } | undefined {
  const change = ref.callFacts?.tagChange;
  if (change !== 'set' && change !== 'remove') return undefined;
  const keys = readKeys(ref.callFacts?.tagKeys);
  if (ref.callFacts?.tagKeysCut === true || keys === 'unreadable') return { change, cut: true };
  return { change, ...(keys && { keys }) };
}

function readKeys(listed: unknown): string[] | 'unreadable' | undefined {
  if (typeof listed !== 'string') return undefined;
  try {
    const keys: unknown = JSON.parse(listed);
    return Array.isArray(keys) && keys.every((key) => typeof key === 'string') ? keys : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * The call that took a resource out of a tag scope: it removed the scope's tag (or every tag) or
 * set it to another value, and the fresh read shows the resource out of scope now. The call alone
 * never decides: a forged or reverted call the read contradicts changes nothing.
 */
export function leftScopeBy(ref: ResourceRef, loaded: Loaded<unknown>, scope: TagScope): string | undefined {
  if (scope.kind !== 'tag' || inTagScope(loaded.tags, scope) || !ref.eventName) return undefined;
  const call = tagCallOf(ref);
  if (!call) return undefined;
  // A removal without keys removes every tag; a list not kept whole may have held the scope's key.
  const touched = call.cut ? [scope.key] : (call.keys ?? (call.change === 'remove' ? [scope.key] : []));
  return touched.includes(scope.key) ? ref.eventName : undefined;
}

/** The tag call a left-the-scope finding (or its incident) records, if it is one. */
export const leftScopeCallOf = (finding: { readonly evidence?: Readonly<Record<string, unknown>> }) => {
  const by = finding.evidence?.leftScopeBy;
  return typeof by === 'string' ? by : undefined;
};

function leftScopeFinding(
  declared: RuleScope,
  resource: Loaded<unknown>,
  scope: TagScope & { kind: 'tag' },
): Finding {
  const call = resource.leftScopeBy ?? '';
  const how = Object.hasOwn(resource.tags, scope.key) ? 'set to a value outside the scope' : 'removed';
  const label = scopeLabel(scope);
  return {
    compliant: false,
    reason: `${declared.covers[0]?.toUpperCase()}${declared.covers.slice(1)} ${resource.resourceId} left the scope (${declared.setting.parameter} ${label}): its ${scope.key} tag was ${how} (${call}); the responder no longer judges it`,
    evidence: { leftScopeBy: call, scope: label, scopeSetting: declared.setting.parameter },
    plan: `nothing is changed: confirm with its owner that the ${declared.covers} is meant to be out of scope, or put the tag back`,
  };
}

/** An out-of-scope resource's verdict: not drift, and a note that says why it was not judged. */
const outOfScope = (declared: RuleScope, scope: TagScope): Verdict => ({
  compliant: true,
  outOfScope: `out of scope (${declared.setting.parameter} ${scopeLabel(scope)}): not judged`,
});

/** The rule with its scope applied (defineRule calls this for a rule that declares one). */
export function scoped<State>(rule: Rule<State>): Rule<State> {
  const declared = rule.scope;
  if (!declared) return rule;
  if (!Object.values(rule.settings ?? {}).includes(declared.setting))
    throw new Error(`${rule.id}: its scope setting ${declared.setting.parameter} is not among its settings`);
  return {
    ...rule,
    async load(ref, aws, settings) {
      const loaded = await rule.load(ref, aws, settings);
      const by = loaded && leftScopeBy(ref, loaded, scopeOf(declared, settings));
      return by ? { ...loaded, leftScopeBy: by } : loaded;
    },
    detect(resource, settings) {
      const scope = scopeOf(declared, settings);
      if (resource.leftScopeBy && scope.kind === 'tag') return leftScopeFinding(declared, resource, scope);
      if (!inTagScope(resource.tags, scope)) return outOfScope(declared, scope);
      return rule.detect(resource, settings);
    },
    async remediate(resource, finding, ctx): Promise<Waiting | undefined> {
      if (resource.leftScopeBy)
        throw new RemediationDeclined(
          `${resource.resourceId} left the scope (${declared.setting.parameter}): recorded and paged, nothing is changed (confirm with its owner)`,
        );
      return (await rule.remediate(resource, finding, ctx)) ?? undefined;
    },
  };
}
