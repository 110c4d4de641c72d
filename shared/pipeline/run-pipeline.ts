import { randomBytes } from 'node:crypto';
import { errorMessage } from '../errors';
import { exemptionDecision } from '../exemptions/decide';
import { Metric } from '../metrics';
import { type ExemptionRecord, type Incident, Mode, type Observation, TriggerSource } from '../model';
import { resourceTypes } from '../resources';
import type { Finding, Loaded, OwnCalls, Rule } from '../rules/rule';
import { typesJudgedBy } from '../rules/rule';
import { leftScopeCallOf } from '../rules/scope';
import { SCHEDULED_DETAIL_TYPE } from '../triggers/schedule';
import type { SweepUnit } from '../triggers/sweep-unit';
import type { SweepRequest, TriggerEvent } from '../triggers/types';
import {
  actsElsewhere,
  type CallMade,
  contextIn,
  homeOnlyRefusal,
  isOwnMemberSession,
  MemberRoleUnavailable,
  refusal,
  unreachableAccount,
} from './accounts';
import { answerConfigEvaluation, reevaluateConfigRules } from './config-evaluations';
import type { PipelineContext, PipelineDeps } from './context';
import { type DeliveryReader, readEachPort } from './delivery-reads';
import { isOwnEvent } from './guards';
import type { Collapse } from './incident-store';
import { Journal, NotOpened } from './journal';
import { evidenceHolder, keepsAsEvidence } from './kept-evidence';
import { IncidentStatus, moveIncident } from './lifecycle';
import { findingsRecordOf, keepFindingCurrent } from './mitigated';
import { Compliance, incidentOutcome, keptOutcome, type ResourceOutcome } from './outcomes';
import { answerForItem, asFoundAtNotification, judgeSentItem, latestIncidentFor } from './recorded-item';
import { recover, resolveOpenDrift } from './recover';
import { respond } from './respond';
import { sweep } from './sweep';
import { planSweep, sweepUnit, type UnitOrigin } from './sweep-units';

export type { PipelineDeps, PipelineLogger, PipelineMetrics } from './context';
export { Compliance, type ResourceOutcome } from './outcomes';
export { SweepError } from './sweep';

/** The context for a resource's calls, as a session named after what is done (shared/pipeline/accounts.ts). */
type Where = (session?: string) => Promise<PipelineContext>;

interface TriggerInfo {
  source: TriggerSource;
  eventId: string;
  eventName: string;
  observedAt: string;
  actor?: Observation['actor'];
  /** The Config rule that reported the drift (compliance-change events): re-evaluated after a fix. */
  configRuleName?: string;
}

export const newIncidentId = (now: Date): string =>
  `inc-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;

/** Is this observation one the rule listens to? Adapters know shapes, rules know triggers. */
/**
 * Two types can share a call's name (v2 and Classic CreateLoadBalancer): when a type the rule judges
 * maps the call, the call's other types are another rule's. (Self-protection routes calls on types it
 * reads through its own stack-resource view, none of which is its declared type.)
 */
function ofAnotherType(rule: Rule, observation: Observation): boolean {
  const judged = typesJudgedBy(rule);
  const mapsTheCall = resourceTypes.some(
    (type) => judged.includes(type.type) && Object.hasOwn(type.calls, observation.eventName),
  );
  return mapsTheCall && !judged.includes(observation.resourceType);
}

/** The calls only an organisation deployment routes to the rule (Rule.organisation), there only. */
const organisationCalls = (rule: Rule, organizationId: string | undefined): readonly string[] =>
  organizationId ? (rule.organisation?.cloudTrail ?? []).flatMap((filter) => filter.eventNames) : [];

function concernsRule(rule: Rule, observation: Observation, organizationId?: string): boolean {
  const { triggers } = rule;
  switch (observation.source) {
    case 'cloudtrail':
      return (
        (triggers.cloudTrail?.eventNames.includes(observation.eventName) === true ||
          organisationCalls(rule, organizationId).includes(observation.eventName)) &&
        !ofAnotherType(rule, observation)
      );
    case 'config-rule':
      return (triggers.configResourceTypes ?? [rule.resourceType]).includes(observation.resourceType);
    case 'config-compliance':
      return [
        ...(triggers.configResourceTypes ?? [rule.resourceType]),
        ...(triggers.managedConfigRules ?? []).flatMap((managed) => managed.resourceType ?? []),
      ].includes(observation.resourceType);
    default:
      return observation.resourceType === rule.resourceType;
  }
}

/** A CloudTrail call its rule judges although the responder's own role made it (Rule.ownCalls). */
const isJudgedOwnCall = (
  ownCalls: OwnCalls,
  observation: Observation,
  responderRoleArns: readonly string[],
) =>
  observation.source === TriggerSource.CloudTrail &&
  ownCalls.eventNames.includes(observation.eventName) &&
  isOwnEvent(observation.actor, responderRoleArns);

/** One pipeline for every trigger: detect → exemption → guard → mode → remediate → verify → incident → alert. */
export class ResponsePipeline {
  private readonly now: () => Date;
  /** What the pipeline's modules (respond, recover, sweep, notify) work with. */
  private readonly ctx: PipelineContext;
  private readonly reads: DeliveryReader;

  constructor(
    private readonly rule: Rule,
    private readonly deps: PipelineDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.ctx = { rule, deps, now: this.now };
    this.reads = deps.reads ?? readEachPort(deps);
  }

  private get mode(): Mode {
    return this.deps.settings.modes[this.rule.id] ?? this.rule.defaultMode;
  }

  /**
   * Answers a Config rule invocation (PutEvaluations), then, for a fix this delivery verified, asks
   * Config to evaluate the rule again: Config refuses to start an evaluation while one runs.
   */
  async answer(event: TriggerEvent, outcomes: readonly ResourceOutcome[]): Promise<number> {
    const { aws, settings, store } = this.deps;
    const sent = await answerConfigEvaluation(event, outcomes, aws, settings);
    const fixed = outcomes.find((outcome) => outcome.remediatedNow)?.incidentId;
    const incident = sent > 0 && fixed ? await store.get(fixed) : undefined;
    if (!incident) return sent;
    const journal = Journal.of(store, incident, this.now);
    await reevaluateConfigRules(this.ctx, journal, { answered: true });
    await journal.flush();
    return sent;
  }

  /** Never silent: a rule switched off outside a deployment is how an insider would silence it. */
  private isOff(): boolean {
    if (this.mode !== Mode.Off) return false;
    // Self-protection pages on that change; this makes every skipped event visible too.
    this.deps.metrics.count(Metric.RuleOff);
    this.deps.logger.warn('rule is off; event not processed', { ruleId: this.rule.id });
    return true;
  }

  async handle(event: TriggerEvent): Promise<ResourceOutcome[]> {
    if (this.isOff()) return [];
    if (event.kind === 'sweep') {
      if (await this.ownCall(event.sweep.actor, event.sweep)) return [];
      // Deployed, a scheduled sweep only plans its units; without a queue (local runs) it runs inline.
      const { units } = this.deps;
      if (event.sweep.source === TriggerSource.Schedule && units)
        return planSweep(this.ctx, event.sweep, units);
      const outcomes = await sweep(this.ctx, event.sweep, (resource, request, locked) =>
        this.judgeSwept(resource, request, locked),
      );
      return event.configEvaluation ? outcomes.map(asFoundAtNotification) : outcomes;
    }
    if (event.ignored) {
      this.deps.logger.info('event is not drift', { ruleId: this.rule.id, why: event.ignored });
      return [];
    }
    const outcomes: ResourceOutcome[] = [];
    for (const observation of event.observations) {
      const outcome = await this.observe(observation);
      if (outcome) outcomes.push(outcome);
    }
    return outcomes;
  }

  /** One unit of a scheduled sweep, from the rule's queue (shared/pipeline/sweep-units.ts). */
  async handleUnit(unit: SweepUnit, origin: UnitOrigin): Promise<ResourceOutcome[]> {
    const { units } = this.deps;
    if (!units) throw new Error('a sweep unit arrived but no sweep queue is configured (SWEEP_QUEUE_PREFIX)');
    if (this.isOff()) return [];
    try {
      return await sweepUnit(this.ctx, unit, origin, units, (resource, request, locked) =>
        this.judgeSwept(resource, request, locked),
      );
    } catch (error) {
      if (!(error instanceof MemberRoleUnavailable)) throw error;
      // The member role is gone: the unit is done, as an incident saying what was not swept.
      return [
        await this.unreachable(
          {
            source: TriggerSource.Schedule,
            eventId: `${unit.sweepId}#${error.accountId}#${unit.region}`,
            eventName: SCHEDULED_DETAIL_TYPE,
            accountId: error.accountId,
            region: origin.region,
            resourceType: this.rule.resourceType,
            resourceId: `every resource in ${unit.region} (sweep)`,
            observedAt: unit.observedAt,
            summary: {},
          },
          error,
        ),
      ];
    }
  }

  private async observe(observation: Observation): Promise<ResourceOutcome | undefined> {
    const { logger, settings, aws } = this.deps;
    const ref = { resourceType: observation.resourceType, resourceId: observation.resourceId };
    // A rule of the home stack alone: another account's event is ignored before anything is asked.
    const homeOnly =
      this.rule.homeStackOnly !== undefined &&
      (await actsElsewhere(this.ctx, observation.accountId)) &&
      homeOnlyRefusal(this.ctx, observation.accountId);
    if (homeOnly) {
      this.deps.metrics.count(Metric.AccountRefused);
      logger.info('event of another account ignored', { ...ref, why: homeOnly });
      return undefined;
    }
    if (observation.source === 'ebs-notification' && this.rule.incidentFor) {
      return this.continueWorkflow(observation, this.rule.incidentFor);
    }
    const ownCalls = this.rule.ownCalls;
    if (ownCalls && isJudgedOwnCall(ownCalls, observation, this.deps.settings.responderRoleArns)) {
      return this.judgeOwnCall(observation, ownCalls);
    }
    if (!concernsRule(this.rule, observation, this.deps.settings.organizationId)) {
      logger.info('observation does not concern this rule', {
        ruleId: this.rule.id,
        ...ref,
        source: observation.source,
      });
      return undefined;
    }
    if (await this.ownCall(observation.actor, observation)) return undefined;
    if (observation.notApplicable) {
      return { ...ref, compliance: Compliance.NotApplicable, note: 'resource deleted or out of scope' };
    }
    const refused = await refusal(this.ctx, observation.accountId);
    if (refused) {
      this.deps.metrics.count(Metric.AccountRefused);
      logger.warn('event of an account the responder does not act in; refused', { ...ref, why: refused });
      return undefined;
    }
    let reading: PipelineContext;
    try {
      reading = await contextIn(this.ctx, observation.accountId);
    } catch (error) {
      if (!(error instanceof MemberRoleUnavailable)) throw error;
      return this.unreachable(observation, error);
    }
    // Config asks about the item it sent: judged as recorded, before the fresh read acts.
    const itemVerdict = await judgeSentItem(this.rule, observation, aws, settings);
    const resource = await this.rule.load(
      {
        ...ref,
        region: observation.region,
        accountId: observation.accountId,
        ...(observation.source === TriggerSource.CloudTrail && {
          eventName: observation.eventName,
          callFacts: observation.summary,
        }),
      },
      reading.deps.aws,
      settings,
    );
    const live = resource
      ? await this.judge(resource, {
          source: observation.source,
          // One event can name several resources (RunInstances): each is its own delivery.
          eventId: `${observation.eventId}#${observation.resourceId}`,
          eventName: observation.eventName,
          observedAt: observation.observedAt,
          actor: observation.actor,
          configRuleName: observation.configRuleName,
        })
      : { ...ref, compliance: Compliance.NotApplicable, note: 'resource no longer exists' };
    if (!itemVerdict) return live;
    return answerForItem(itemVerdict, live, async () =>
      resource
        ? latestIncidentFor(this.deps.store, this.rule.id, resource.arn, observation.observedAt)
        : undefined,
    );
  }

  /**
   * Was the call made by the responder itself (its roles, or a member role's session whose incident
   * was acting on that resource then), or a role the rule trusts? Then it is not drift (loop guard).
   */
  private async ownCall(actor: Observation['actor'], call: CallMade): Promise<boolean> {
    const { settings, metrics, logger } = this.deps;
    const trusted = [...settings.responderRoleArns, ...(this.rule.trustedRoleArns?.(settings) ?? [])];
    if (!isOwnEvent(actor, trusted) && !(await isOwnMemberSession(this.ctx, actor, call))) return false;
    metrics.count(Metric.OwnEventsIgnored);
    const { resourceType, resourceId } = call;
    logger.info('event made by the responder itself; ignored (loop guard)', {
      ruleId: this.rule.id,
      resourceType,
      resourceId,
    });
    return true;
  }

  /**
   * A call the responder's own role made that the rule judges anyway (Rule.ownCalls): judged by its
   * request, never by a read. Drift opens an incident in notify mode (an alert, nothing undone)
   * whose ARN names the call, so it never holds the drift lock of the resource's own incidents.
   */
  private async judgeOwnCall(
    observation: Observation,
    ownCalls: OwnCalls,
  ): Promise<ResourceOutcome | undefined> {
    const { resourceType, resourceId, eventName } = observation;
    const finding = ownCalls.judge({ eventName, resourceType, resourceId, request: observation.request?.() });
    if (!finding) {
      // In its allowed shape: the responder's own change, ignored as the loop guard ignores any other.
      await this.ownCall(observation.actor, observation);
      return undefined;
    }
    const partition = /^arn:([^:]+):/.exec(observation.actor?.sessionIssuerArn ?? '')?.[1] ?? 'aws';
    const resource: Loaded<unknown> = {
      resourceType,
      resourceId,
      region: observation.region,
      accountId: observation.accountId,
      arn: `arn:${partition}:cloudtrail:${observation.region}:${observation.accountId}:own-call/${eventName}/${observation.eventId}`,
      tags: {},
      state: undefined,
    };
    const trigger = {
      source: observation.source,
      eventId: `${observation.eventId}#${resourceId}`,
      eventName,
      observedAt: observation.observedAt,
      actor: observation.actor,
    };
    return this.judge(resource, trigger, { finding, mode: Mode.Notify });
  }

  /** The member role could not be assumed: a notify-only incident about it, paged (shared/pipeline/accounts.ts). */
  private async unreachable(
    observation: Observation,
    error: MemberRoleUnavailable,
  ): Promise<ResourceOutcome> {
    this.deps.metrics.count(Metric.MemberRoleUnavailable);
    this.deps.logger.error('cannot act in a member account', {
      ruleId: this.rule.id,
      accountId: error.accountId,
      error: errorMessage(error.cause),
    });
    const { resource, finding } = await unreachableAccount(this.ctx, observation, error);
    return this.judge(
      resource,
      {
        source: observation.source,
        eventId: `${observation.eventId}#${observation.resourceId}`,
        eventName: observation.eventName,
        observedAt: observation.observedAt,
        actor: observation.actor,
      },
      { finding, mode: Mode.Notify, home: true },
    );
  }

  /** An EBS notification advances the workflow of the incident that created its snapshot or volume. */
  private async continueWorkflow(
    observation: Observation,
    incidentFor: NonNullable<Rule['incidentFor']>,
  ): Promise<ResourceOutcome | undefined> {
    if (await refusal(this.ctx, observation.accountId)) return undefined;
    const reading = await contextIn(this.ctx, observation.accountId);
    const claim = await incidentFor(observation, reading.deps.aws);
    const claimed = claim && (await this.deps.store.get(claim.incidentId));
    // A tag names the incident; lineage decides: the notified resource was made from its own resource,
    // in its own account (a tag is anyone's to copy, and an id says nothing of the account).
    if (
      !claim ||
      claimed?.ruleId !== this.rule.id ||
      claimed.account !== observation.accountId ||
      claimed.resourceId !== claim.madeFrom
    ) {
      this.deps.logger.info('notification is not about a workflow of ours', { ruleId: this.rule.id });
      return undefined;
    }
    const incident = await recover(
      await contextIn(this.ctx, observation.accountId, claimed.incidentId),
      claimed,
    );
    return incidentOutcome(incident, incident, `${incident.status}: incident ${incident.incidentId}`);
  }

  /** A swept resource is one delivery per resource and region (account-level settings share the account id). */
  private judgeSwept(
    resource: Loaded<unknown>,
    request: SweepRequest,
    locked: boolean,
  ): Promise<ResourceOutcome> {
    return this.judge(
      resource,
      {
        source: request.source,
        eventId: `${request.eventId}#${resource.region}#${resource.resourceId}`,
        eventName: request.eventName,
        observedAt: request.observedAt,
        actor: request.actor,
      },
      undefined,
      locked,
    );
  }

  /** Detect (unless already judged), and for drift: open (or join) the incident and respond. */
  private async judge(
    resource: Loaded<unknown>,
    trigger: TriggerInfo,
    /** Already judged; `home`: about an account it cannot act in, so nothing is read or done there. */
    judged?: { finding: Finding; mode: Mode; home?: true },
    /** A sweep's answer from its one read of the rule's drift locks; unknown elsewhere. */
    locked = true,
  ): Promise<ResourceOutcome> {
    const ref = { resourceType: resource.resourceType, resourceId: resource.resourceId };
    // Where the resource's calls go: its account, as a session named after what is being done.
    const where: Where = judged?.home
      ? async () => this.ctx
      : (session) => contextIn(this.ctx, resource.accountId, session);
    const verdict = judged?.finding ?? this.rule.detect(resource, this.deps.settings);
    if (verdict.compliant) {
      // No lock, no incident to resolve: a compliant swept resource costs no read (issue 21).
      if (locked) await resolveOpenDrift(this.ctx, resource, verdict.outOfScope, verdict.endsIncident);
      // Never silently: out of a narrowed scope is NOT_APPLICABLE, saying which scope, not COMPLIANT.
      return verdict.outOfScope
        ? { ...ref, compliance: Compliance.NotApplicable, note: verdict.outOfScope, outOfScope: true }
        : { ...ref, compliance: Compliance.Compliant, note: 'compliant' };
    }
    if (verdict.updatesOnly) return this.updateHeldDrift(resource, verdict);
    const kept = await this.keptAsEvidence(resource, where);
    if (kept) return kept;
    this.deps.metrics.count(Metric.DriftDetected);
    const { settings, store } = this.deps;
    const mode = judged?.mode ?? this.mode;
    // One read of all it decides on (issue 21); the guard's items only where it may take a slot.
    const read = await this.reads.read(
      { deliveryKey: trigger.eventId, ruleId: this.rule.id, resourceArn: resource.arn },
      // A member account's guard reads its own items when it decides (shared/pipeline/accounts.ts).
      {
        exemption: !this.rule.neverExempt,
        guard: mode === Mode.Enforce && !(await actsElsewhere(this.ctx, resource.accountId)),
      },
    );
    const exemption = exemptionDecision(
      read.exemption,
      this.rule,
      resource,
      { reason: settings.exemptTag, until: settings.exemptUntilTag },
      this.now(),
    );
    const incident = {
      ...this.newIncident(resource, verdict, trigger),
      ...(judged && { mode: judged.mode }),
      ...exemption,
    };
    let collapse = read.collapse;
    if (collapse?.collapsedOn === 'open-drift') {
      // The incident holding the drift lock may have ended: then this delivery opens its own.
      const holder = await store.get(collapse.existingIncidentId);
      if (holder && (await this.lockEnded(holder, exemption.exemption, verdict))) collapse = undefined;
    }
    if (!collapse) {
      try {
        const journal = Journal.opening(store, incident, trigger.eventId, this.now);
        // Changes in a member account are made as a session named after the incident.
        const acting =
          incident.mode === Mode.Enforce && !incident.exemption ? await where(incident.incidentId) : this.ctx;
        const final = await respond(acting, journal, resource, verdict, read.guard);
        const outcome = incidentOutcome(ref, final, `${final.status}: incident ${final.incidentId}`);
        return final.status === IncidentStatus.Remediated ? { ...outcome, remediatedNow: true } : outcome;
      } catch (error) {
        // A concurrent delivery opened it first (nothing was changed here): collapsed on that one.
        if (!(error instanceof NotOpened)) throw error;
        collapse = error.result;
      }
    }
    return this.collapsed(collapse.existingIncidentId, collapse.collapsedOn, resource, verdict, where);
  }

  /** The drift already has an incident: brought up to date, finished or paged for if it is owed. */
  private async collapsed(
    existingIncidentId: string,
    collapsedOn: Collapse['collapsedOn'],
    resource: Loaded<unknown>,
    verdict: Finding,
    where: Where,
  ): Promise<ResourceOutcome> {
    const ref = { resourceType: resource.resourceType, resourceId: resource.resourceId };
    this.deps.metrics.count(Metric.DuplicatesCollapsed);
    this.deps.logger.info('drift already has an incident', {
      ruleId: this.rule.id,
      incidentId: existingIncidentId,
      collapsedOn,
    });
    const note = `already handled by incident ${existingIncidentId}`;
    // The call took the resource out of the scope while an incident held its drift: paged now.
    if (resource.leftScopeBy) {
      await resolveOpenDrift(
        this.ctx,
        resource,
        `out of scope after ${resource.leftScopeBy}: ${verdict.reason}`,
      );
      return { ...ref, compliance: Compliance.NonCompliant, note, incidentId: existingIncidentId };
    }
    const existing = await this.deps.store.get(existingIncidentId);
    if (!existing)
      return { ...ref, compliance: Compliance.NonCompliant, note, incidentId: existingIncidentId };
    const current = await keepFindingCurrent(this.ctx, existing, verdict);
    const acting = await where(current.incidentId);
    return incidentOutcome(ref, await recover(acting, current, { resource, finding: verdict }), note);
  }

  /**
   * Drift a read can only tell an incident about (Finding.updatesOnly): the incident holding the
   * drift lock is brought up to date; with none, nothing is opened or paged.
   */
  private async updateHeldDrift(resource: Loaded<unknown>, finding: Finding): Promise<ResourceOutcome> {
    const { store } = this.deps;
    const ref = { resourceType: resource.resourceType, resourceId: resource.resourceId };
    const held = await store.openDrift(this.rule.id, resource.arn);
    const existing = held ? await store.get(held) : undefined;
    if (!existing) return { ...ref, compliance: Compliance.NotApplicable, note: 'no incident to update' };
    const now = await keepFindingCurrent(this.ctx, existing, finding);
    return incidentOutcome(ref, now, `${now.status}: incident ${now.incidentId} updated`);
  }

  /**
   * A replaced original its incident keeps as evidence: NON_COMPLIANT, answered by that incident,
   * nothing opened or done again. Once it is evidence no more (attached again, its replacement
   * gone), the incident lets go of the drift lock, so this check opens an incident of its own.
   */
  private async keptAsEvidence(
    resource: Loaded<unknown>,
    where: Where,
  ): Promise<ResourceOutcome | undefined> {
    const { store } = this.deps;
    const holder = await evidenceHolder(this.rule, resource, store);
    // An alert still owed is paged for first, where the delivery collapses on the incident.
    if (holder?.alert?.status !== 'sent') return undefined;
    const { aws } = (await where()).deps;
    if (await keepsAsEvidence(this.rule, resource, holder, aws)) return keptOutcome(resource, holder);
    await store.releaseDrift(this.rule.id, resource.arn, holder.incidentId);
    return undefined;
  }

  /**
   * Has the incident holding the drift lock stopped answering for this drift? Then it lets go of the
   * lock. An exempted incident holds it while its exemption is in force; once the exemption is
   * removed, ends or is replaced, it ends. An incident about a resource's deletion holds it while
   * the resource stays gone; once a resource of the same ARN exists again (a trail recreated under
   * its name), the incident is resolved saying so, and the new resource is judged afresh. A resource
   * that left its rule's scope (shared/rules/scope.ts) while an incident about its drift stood open
   * (notify mode keeps one open) is paged by an incident of its own, never folded into that one; and
   * back in the scope, its drift is again its own incident, not the left-the-scope one's.
   */
  private async lockEnded(
    holder: Incident,
    current: ExemptionRecord | undefined,
    finding: Finding,
  ): Promise<boolean> {
    const { store } = this.deps;
    const exemptionEnded =
      holder.status === IncidentStatus.Exempted &&
      !(current && holder.exemption?.exemptionId === current.exemptionId);
    const deletionEnded =
      !exemptionEnded &&
      !finding.resourceGone &&
      holder.resourceGone === true &&
      holder.status !== IncidentStatus.Remediating;
    const leftBy = leftScopeCallOf(finding);
    const scopeChanged =
      !exemptionEnded &&
      !deletionEnded &&
      (holder.status === IncidentStatus.Open || holder.status === IncidentStatus.Failed) &&
      (leftBy === undefined) !== (leftScopeCallOf(holder) === undefined);
    if (!exemptionEnded && !deletionEnded && !scopeChanged) return false;
    if (scopeChanged) {
      const reason = leftBy
        ? `left the scope (${leftBy}): no longer judged; a new incident records and pages that`
        : `back in the scope (found ${this.now().toISOString()}): judged afresh by a new incident`;
      const move = await moveIncident(store, holder, IncidentStatus.Resolved, reason);
      if (!move.moved && move.current.status !== IncidentStatus.Resolved) return false;
    }
    if (deletionEnded) {
      const found = `the resource exists again (found ${this.now().toISOString()})`;
      const move = await moveIncident(
        store,
        holder,
        IncidentStatus.Resolved,
        `${found}; it is judged afresh by a new incident`,
      );
      // Lost to another writer (a person's undo, a resumed remediation): the lock stays its own.
      if (!move.moved && move.current.status !== IncidentStatus.Resolved) return false;
    }
    await store.releaseDrift(this.rule.id, holder.resourceArn, holder.incidentId);
    return true;
  }

  private newIncident(resource: Loaded<unknown>, finding: Finding, trigger: TriggerInfo): Incident {
    const now = this.now().toISOString();
    return {
      schemaVersion: 1,
      incidentId: newIncidentId(this.now()),
      ruleId: this.rule.id,
      title: this.rule.title,
      severity: this.rule.severity,
      hipaa: this.rule.hipaa,
      account: resource.accountId,
      region: resource.region,
      resourceType: resource.resourceType,
      resourceId: resource.resourceId,
      resourceArn: resource.arn,
      detectedAt: now,
      updatedAt: now,
      trigger: {
        source: trigger.source,
        eventId: trigger.eventId,
        eventName: trigger.eventName,
        configRuleName: trigger.configRuleName,
      },
      actor: trigger.actor,
      evidence: finding.evidence,
      reason: finding.reason,
      resourceGone: finding.resourceGone,
      ...(finding.findings && findingsRecordOf(finding.findings)),
      mode: this.mode,
      status: IncidentStatus.Open,
      steps: [],
      runbook: this.rule.runbook,
    };
  }
}
