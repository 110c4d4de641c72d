import { randomBytes } from 'node:crypto';
import { StartConfigRulesEvaluationCommand } from '@aws-sdk/client-config-service';
import type { AwsClients } from '../aws/clients';
import { regionsToSweep } from '../aws/regions';
import { mapWithConcurrency, retryUntil, settleWithConcurrency } from '../concurrency';
import type { Settings } from '../config';
import { errorMessage, RemediationDeclined, ResponderError } from '../errors';
import { decideExemption } from '../exemptions/decide';
import type { ExemptionLedger } from '../exemptions/ledger';
import { Metric } from '../metrics';
import {
  type ExemptionRecord,
  type Incident,
  IncidentStatus,
  Mode,
  type Observation,
  type Step,
  StepResult,
  type Summary,
  TriggerSource,
} from '../model';
import type { Finding, Loaded, Rule, StepRecorder } from '../rules/rule';
import { IAM_REGION } from '../ssh/iam-keys';
import type { SweepRequest, TriggerEvent } from '../triggers/types';
import { type AlertPublisher, buildAlert, buildGuardAlert } from './alerts';
import { type BlastRadiusGuard, isOwnEvent } from './guards';
import type { IncidentStore } from './incident-store';
import { evidenceHolder, keepsAsEvidence, keptAsEvidenceNote, verifiedKeptAsEvidence } from './kept-evidence';
import { type Listing, listingsOf } from './listings';

export const Compliance = {
  Compliant: 'COMPLIANT',
  NonCompliant: 'NON_COMPLIANT',
  NotApplicable: 'NOT_APPLICABLE',
} as const;
export type Compliance = (typeof Compliance)[keyof typeof Compliance];

/** What the pipeline did for one resource; also the input of Config's PutEvaluations. */
export interface ResourceOutcome {
  resourceType: string;
  resourceId: string;
  compliance: Compliance;
  /** Short words for Config's annotation and the handler's result. */
  note: string;
  incidentId?: string;
  status?: IncidentStatus;
}

export interface PipelineLogger {
  info(message: string, ...fields: Record<string, unknown>[]): void;
  warn(message: string, ...fields: Record<string, unknown>[]): void;
  error(message: string, ...fields: Record<string, unknown>[]): void;
}

export interface PipelineMetrics {
  count(name: string, value?: number): void;
}

export interface PipelineDeps {
  aws: AwsClients;
  settings: Settings;
  store: IncidentStore;
  alerts: AlertPublisher;
  guard: BlastRadiusGuard;
  /** Exemptions in force (the ledger); exemption tags alone are only a request. */
  exemptions: ExemptionLedger;
  logger: PipelineLogger;
  metrics: PipelineMetrics;
  now?: () => Date;
  /** Verification read-back: attempts and first delay (tests shorten them). */
  verify?: { attempts: number; delayMs: number };
}

/** How many resources of a sweep are worked on at once: bounded so throttling stays rare. */
const SWEEP_CONCURRENCY = 4;
/** How many regions one sweep reads at once (each with SWEEP_CONCURRENCY resources in flight). */
const REGION_CONCURRENCY = 3;

/**
 * Some regions of a sweep could not be read, or some resources or pending alerts failed; the rest
 * was swept. The invocation fails, so it pages.
 */
export class SweepError extends ResponderError {}

/** What of a sweep failed: a region's listing, one resource, or a pending alert (named by its incident). */
interface SweepFailure {
  scope: string;
  error: unknown;
}

interface TriggerInfo {
  source: TriggerSource;
  eventId: string;
  eventName: string;
  observedAt: string;
  actor?: Observation['actor'];
  /** The Config rule that reported the drift (compliance-change events): re-evaluated after a fix. */
  configRuleName?: string;
}

/** A replaced original its incident keeps as evidence: still drift, which that incident answers for (§9). */
const keptOutcome = (
  { resourceType, resourceId }: { resourceType: string; resourceId: string },
  incident: Incident,
): ResourceOutcome => ({
  // Named fields only: the outcome is returned and logged, and a loaded resource carries its tags.
  resourceType,
  resourceId,
  compliance: Compliance.NonCompliant,
  note: keptAsEvidenceNote(incident.incidentId),
  incidentId: incident.incidentId,
  status: incident.status,
});

export const newIncidentId = (now: Date): string =>
  `inc-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;

/** Is this observation one the rule listens to? Adapters know shapes, rules know triggers. */
function concernsRule(rule: Rule, observation: Observation): boolean {
  const { triggers } = rule;
  switch (observation.source) {
    case 'cloudtrail':
      return triggers.cloudTrail?.eventNames.includes(observation.eventName) === true;
    case 'config-rule':
    case 'config-compliance':
      return (triggers.configResourceTypes ?? [rule.resourceType]).includes(observation.resourceType);
    default:
      return observation.resourceType === rule.resourceType;
  }
}

/** One pipeline for every trigger: detect → exemption → guard → mode → remediate → verify → incident → alert. */
export class ResponsePipeline {
  private readonly now: () => Date;

  constructor(
    private readonly rule: Rule,
    private readonly deps: PipelineDeps,
  ) {
    this.now = deps.now ?? (() => new Date());
  }

  private get mode(): Mode {
    return this.deps.settings.modes[this.rule.id] ?? this.rule.defaultMode;
  }

  async handle(event: TriggerEvent): Promise<ResourceOutcome[]> {
    if (this.mode === Mode.Off) {
      // Never silent: a rule switched off outside a deployment is how an insider would silence it
      // (self-protection pages on that change; this makes every skipped event visible too).
      this.deps.metrics.count(Metric.RuleOff);
      this.deps.logger.warn('rule is off; event not processed', { ruleId: this.rule.id });
      return [];
    }
    if (event.kind === 'sweep') return this.sweep(event.sweep);
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

  private async observe(observation: Observation): Promise<ResourceOutcome | undefined> {
    const { logger, metrics, settings, aws } = this.deps;
    const ref = { resourceType: observation.resourceType, resourceId: observation.resourceId };
    if (observation.source === 'ebs-notification' && this.rule.incidentFor) {
      return this.continueWorkflow(observation, this.rule.incidentFor);
    }
    if (!concernsRule(this.rule, observation)) {
      logger.info('observation does not concern this rule', {
        ruleId: this.rule.id,
        ...ref,
        source: observation.source,
      });
      return undefined;
    }
    const trusted = [...settings.responderRoleArns, ...(this.rule.trustedRoleArns?.(settings) ?? [])];
    if (isOwnEvent(observation.actor, trusted)) {
      metrics.count(Metric.OwnEventsIgnored);
      logger.info('event made by the responder itself; ignored (loop guard)', {
        ruleId: this.rule.id,
        ...ref,
      });
      return undefined;
    }
    if (observation.notApplicable) {
      return { ...ref, compliance: Compliance.NotApplicable, note: 'resource deleted or out of scope' };
    }
    const resource = await this.rule.load(
      {
        ...ref,
        region: observation.region,
        accountId: observation.accountId,
        ...(observation.source === TriggerSource.CloudTrail && { eventName: observation.eventName }),
      },
      aws,
      settings,
    );
    if (!resource) return { ...ref, compliance: Compliance.NotApplicable, note: 'resource no longer exists' };
    return this.judge(resource, {
      source: observation.source,
      // One event can name several resources (RunInstances): each is its own delivery.
      eventId: `${observation.eventId}#${observation.resourceId}`,
      eventName: observation.eventName,
      observedAt: observation.observedAt,
      actor: observation.actor,
      configRuleName: observation.configRuleName,
    });
  }

  /** An EBS notification advances the workflow of the incident that created its snapshot or volume. */
  private async continueWorkflow(
    observation: Observation,
    incidentFor: NonNullable<Rule['incidentFor']>,
  ): Promise<ResourceOutcome | undefined> {
    const claim = await incidentFor(observation, this.deps.aws);
    const claimed = claim && (await this.deps.store.get(claim.incidentId));
    // A tag names the incident; lineage decides: the notified resource was made from its own resource.
    if (!claim || claimed?.ruleId !== this.rule.id || claimed.resourceId !== claim.madeFrom) {
      this.deps.logger.info('notification is not about a workflow of ours', { ruleId: this.rule.id });
      return undefined;
    }
    const { incidentId } = claim;
    const incident = await this.resume(incidentId);
    if (!incident) return undefined;
    if (verifiedKeptAsEvidence(incident)) return keptOutcome(incident, incident);
    return {
      resourceType: incident.resourceType,
      resourceId: incident.resourceId,
      compliance:
        incident.status === IncidentStatus.Remediated ? Compliance.Compliant : Compliance.NonCompliant,
      note: `${incident.status}: incident ${incident.incidentId}`,
      incidentId,
      status: incident.status,
    };
  }

  /**
   * A scheduled sweep covers every region `sweepRegions` names (by default every enabled region, so
   * a region without a forwarder is still swept), and IAM once, then re-sends the rule's alerts left
   * pending. A listing, a resource or an alert that fails does not stop the others; once all work
   * has settled, the sweep fails naming them, so the function's error alarm pages.
   */
  private async sweep(request: SweepRequest): Promise<ResourceOutcome[]> {
    const { aws, settings } = this.deps;
    // A Config periodic evaluation answers for its own region (IAM's where Config records it).
    const global = request.source === TriggerSource.Schedule || request.region === IAM_REGION;
    const listings = listingsOf(
      this.rule,
      await this.sweepRegions(request),
      { accountId: request.accountId, aws, settings },
      { global },
    );
    const failures: SweepFailure[] = [];
    const perListing = await mapWithConcurrency(listings, REGION_CONCURRENCY, async (listing) => {
      try {
        return await this.sweepListing(listing, request, failures);
      } catch (error) {
        failures.push({ scope: listing.scope, error });
        this.deps.metrics.count(Metric.SweepRegionFailed);
        this.deps.logger.error('sweep of a region failed', {
          ruleId: this.rule.id,
          region: listing.scope,
          error: errorMessage(error),
        });
        return [];
      }
    });
    await this.resumePendingAlerts(failures);
    const [first] = failures;
    if (first && listings.length === 1 && failures.length === 1 && first.scope === listings[0]?.scope)
      throw first.error;
    if (first) {
      const names = failures.map((failure) => failure.scope).sort();
      // The first failure's own words, so a throttle or an access denial reads as what it is.
      throw new SweepError(
        `sweep failed in ${names.join(', ')} (the rest was swept): ${errorMessage(first.error)}`,
        {
          cause: first.error,
        },
      );
    }
    return perListing.flat();
  }

  private async sweepRegions(request: SweepRequest): Promise<readonly string[]> {
    const { settings, aws } = this.deps;
    // A Config periodic evaluation answers for its own region only; the stack lives in its home region.
    if (request.source !== TriggerSource.Schedule || this.rule.triggers.sweepScope === 'home-region')
      return [request.region];
    return regionsToSweep(settings.sweepRegions, request.region, (region) => aws.ec2(region));
  }

  /** Judges every resource of a listing; one that fails is recorded in `failures`, the others finish. */
  private async sweepListing(
    listing: Listing,
    request: SweepRequest,
    failures: SweepFailure[],
  ): Promise<ResourceOutcome[]> {
    const resources: Loaded<unknown>[] = [];
    // A failed or throttled read throws here: a sweep never reports "no resources, all compliant".
    for await (const resource of listing.resources()) resources.push(resource);
    this.deps.metrics.count(Metric.ResourcesSwept, resources.length);
    const settled = await settleWithConcurrency(resources, SWEEP_CONCURRENCY, (resource) =>
      this.judge(resource, {
        source: request.source,
        // One delivery key per resource and region (account-level settings share the account id).
        eventId: `${request.eventId}#${resource.region}#${resource.resourceId}`,
        eventName: request.eventName,
        observedAt: request.observedAt,
      }),
    );
    const outcomes: ResourceOutcome[] = [];
    settled.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        outcomes.push(result.value);
        return;
      }
      const resourceId = resources[index]?.resourceId;
      failures.push({ scope: `${listing.scope}/${resourceId}`, error: result.reason });
      this.deps.metrics.count(Metric.SweepResourceFailed);
      this.deps.logger.error('sweep of a resource failed', {
        ruleId: this.rule.id,
        region: listing.scope,
        resourceId,
        error: errorMessage(result.reason),
      });
    });
    return outcomes;
  }

  /**
   * Re-sends the rule's alerts that a failed Publish or a crash left pending, found in the table: the
   * incident of a resource no listing shows any more (a deleted trail) pages too. resumeAlert sends
   * only those idle past the stale window, once under concurrent sweeps.
   */
  private async resumePendingAlerts(failures: SweepFailure[]): Promise<void> {
    let pending: string[];
    try {
      pending = await this.deps.store.pendingAlerts(this.rule.id);
    } catch (error) {
      failures.push({ scope: 'pending alerts', error });
      return;
    }
    const settled = await settleWithConcurrency(pending, SWEEP_CONCURRENCY, (incidentId) =>
      this.resumeAlert(incidentId),
    );
    settled.forEach((result, index) => {
      if (result.status === 'fulfilled') return;
      failures.push({ scope: `alert of ${pending[index]}`, error: result.reason });
      this.deps.logger.error('a pending alert could not be sent', {
        ruleId: this.rule.id,
        incidentId: pending[index],
        error: errorMessage(result.reason),
      });
    });
  }

  /** Detect, and for drift: open (or join) the incident and respond. */
  private async judge(resource: Loaded<unknown>, trigger: TriggerInfo): Promise<ResourceOutcome> {
    const ref = { resourceType: resource.resourceType, resourceId: resource.resourceId };
    const verdict = this.rule.detect(resource, this.deps.settings);
    if (verdict.compliant) {
      await this.resolveOpenDrift(resource);
      return { ...ref, compliance: Compliance.Compliant, note: 'compliant' };
    }
    const kept = await this.keptAsEvidence(resource);
    if (kept) return kept;
    this.deps.metrics.count(Metric.DriftDetected);
    const { settings } = this.deps;
    const exemption = await decideExemption(
      this.deps.exemptions,
      this.rule.id,
      resource,
      { reason: settings.exemptTag, until: settings.exemptUntilTag },
      this.now(),
    );
    const incident = { ...this.newIncident(resource, verdict, trigger), ...exemption };
    let opened = await this.deps.store.open(incident, trigger.eventId);
    if (
      !opened.opened &&
      opened.collapsedOn === 'open-drift' &&
      ((await this.exemptionEnded(opened.existingIncidentId, exemption.exemption)) ||
        (await this.deletionEnded(opened.existingIncidentId, verdict)))
    ) {
      opened = await this.deps.store.open(incident, trigger.eventId);
    }
    if (!opened.opened) {
      this.deps.metrics.count(Metric.DuplicatesCollapsed);
      this.deps.logger.info('drift already has an incident', {
        ruleId: this.rule.id,
        incidentId: opened.existingIncidentId,
        collapsedOn: opened.collapsedOn,
      });
      await this.resume(opened.existingIncidentId);
      await this.decideAbandoned(opened.existingIncidentId, resource, verdict);
      const existing = await this.resumeAlert(opened.existingIncidentId);
      if (existing && verifiedKeptAsEvidence(existing)) return keptOutcome(ref, existing);
      return {
        ...ref,
        compliance:
          existing?.status === IncidentStatus.Remediated ? Compliance.Compliant : Compliance.NonCompliant,
        note: `already handled by incident ${opened.existingIncidentId}`,
        incidentId: opened.existingIncidentId,
        status: existing?.status,
      };
    }
    const final = await this.respond(incident, resource, verdict);
    if (verifiedKeptAsEvidence(final)) return keptOutcome(ref, final);
    return {
      ...ref,
      compliance: final.status === IncidentStatus.Remediated ? Compliance.Compliant : Compliance.NonCompliant,
      note: `${final.status}: incident ${final.incidentId}`,
      incidentId: final.incidentId,
      status: final.status,
    };
  }

  /**
   * A replaced original its incident keeps as evidence: NON_COMPLIANT, answered by that incident,
   * nothing opened or done again. Once it is evidence no more (attached again, its replacement
   * gone), the incident lets go of the drift lock, so this check opens an incident of its own.
   */
  private async keptAsEvidence(resource: Loaded<unknown>): Promise<ResourceOutcome | undefined> {
    const { store, aws } = this.deps;
    const holder = await evidenceHolder(this.rule, resource, store);
    // An alert still owed is paged for first, where the delivery collapses on the incident.
    if (holder?.alert?.status !== 'sent') return undefined;
    if (await keepsAsEvidence(this.rule, resource, holder, aws)) return keptOutcome(resource, holder);
    await store.releaseDrift(this.rule.id, resource.arn, holder.incidentId);
    return undefined;
  }

  /**
   * An exempted incident holds the drift lock while its exemption is in force; once the exemption is
   * removed, ends or is replaced, the drift is released so this delivery opens its own incident.
   */
  private async exemptionEnded(incidentId: string, current: ExemptionRecord | undefined): Promise<boolean> {
    const existing = await this.deps.store.get(incidentId);
    if (existing?.status !== IncidentStatus.Exempted) return false;
    if (current && existing.exemption?.exemptionId === current.exemptionId) return false;
    await this.deps.store.releaseDrift(this.rule.id, existing.resourceArn, incidentId);
    return true;
  }

  /**
   * An incident about a resource's deletion holds the drift lock while the resource stays gone; once
   * a resource of the same ARN exists again (a trail recreated under its name), the incident is
   * resolved saying so and the drift released, so this delivery judges the new resource afresh.
   */
  private async deletionEnded(incidentId: string, current: Finding): Promise<boolean> {
    if (current.resourceGone) return false;
    const existing = await this.deps.store.get(incidentId);
    if (!existing?.resourceGone || existing.status === IncidentStatus.Remediating) return false;
    await this.deps.store.setStatus(
      incidentId,
      IncidentStatus.Resolved,
      `the resource exists again (found ${this.now().toISOString()}); it is judged afresh by a new incident`,
    );
    await this.deps.store.releaseDrift(this.rule.id, existing.resourceArn, incidentId);
    return true;
  }

  private async respond(incident: Incident, resource: Loaded<unknown>, finding: Finding): Promise<Incident> {
    const { store, guard } = this.deps;
    const { exemption } = incident;
    if (exemption) {
      // Recorded for the audit trail, but nobody is paged for an approved exception.
      const statusReason = `exempt until ${exemption.until} by ${exemption.setBy} (${exemption.exemptionId}): ${exemption.reason}`;
      await store.setStatus(incident.incidentId, IncidentStatus.Exempted, statusReason);
      return { ...incident, status: IncidentStatus.Exempted, statusReason };
    }
    if (incident.mode === Mode.Notify) {
      await store.setStatus(
        incident.incidentId,
        IncidentStatus.Open,
        `notify mode: ${finding.plan} was not done`,
      );
      return this.alert(incident.incidentId);
    }
    const decision = await guard.acquire();
    if (!decision.allowed) {
      await store.setStatus(incident.incidentId, IncidentStatus.Open, decision.reason);
      if (decision.justTripped) await this.alertGuardTripped(incident, decision.reason);
      return this.alert(incident.incidentId);
    }
    await store.setStatus(incident.incidentId, IncidentStatus.Remediating);
    const workflow = { startedAt: this.now().toISOString(), state: {} };
    await store.setWorkflow(incident.incidentId, workflow);
    return this.remediateAndFinish({ ...incident, workflow }, resource, finding);
  }

  /**
   * Runs (or continues) the rule's remediation. Waiting leaves the incident `remediating` with what
   * it waits for; done is verified by a read before the incident says `remediated`.
   */
  private async remediateAndFinish(
    incident: Incident,
    resource: Loaded<unknown>,
    finding: Finding,
  ): Promise<Incident> {
    const { store, settings, logger } = this.deps;
    const workflow = incident.workflow ?? { startedAt: this.now().toISOString(), state: {} };
    const state = { ...workflow.state };
    let kept = false;
    try {
      const progress = await this.rule.remediate(resource, finding, {
        aws: this.deps.aws,
        settings,
        step: this.stepRecorder(incident.incidentId),
        incidentId: incident.incidentId,
        workflow: {
          state,
          save: async (patch) => {
            Object.assign(state, patch);
            await store.setWorkflow(incident.incidentId, { ...workflow, state });
          },
        },
      });
      if (progress) {
        await store.setWorkflow(incident.incidentId, { ...workflow, state, waitingFor: progress.waitingFor });
        await store.setStatus(
          incident.incidentId,
          IncidentStatus.Remediating,
          `waiting for ${progress.waitingFor}`,
        );
        this.deps.metrics.count(Metric.RemediationWaiting);
        return {
          ...incident,
          status: IncidentStatus.Remediating,
          statusReason: `waiting for ${progress.waitingFor}`,
        };
      }
      kept = await this.verify({ ...incident, workflow: { ...workflow, state } }, resource);
      await store.setWorkflow(incident.incidentId, { startedAt: workflow.startedAt, state });
      await store.setStatus(incident.incidentId, IncidentStatus.Remediated);
      this.deps.metrics.count(Metric.Remediated);
      await this.reevaluateConfigRules(incident);
    } catch (error) {
      if (error instanceof RemediationDeclined) {
        // Not a failure: the rule chose not to change this resource, and says why.
        this.deps.metrics.count(Metric.RemediationDeclined);
        await store.setStatus(incident.incidentId, IncidentStatus.Open, error.message.slice(0, 512));
        return this.alert(incident.incidentId);
      }
      logger.error('remediation failed', {
        ruleId: this.rule.id,
        incidentId: incident.incidentId,
        error: errorMessage(error),
      });
      this.deps.metrics.count(Metric.RemediationFailed);
      await store.setStatus(incident.incidentId, IncidentStatus.Failed, errorMessage(error).slice(0, 512));
    }
    const alerted = await this.alert(incident.incidentId);
    // The drift lock outlives the alert: if the process dies before it, the next check finds the
    // incident through the lock and pages (resolveOpenDrift), instead of seeing a compliant resource.
    // A kept original is still drift, which this incident answers for: it keeps the lock.
    if (alerted.status === IncidentStatus.Remediated && !kept)
      await store.releaseDrift(incident.ruleId, incident.resourceArn, incident.incidentId);
    return alerted;
  }

  /**
   * Continues a remediation that waits for AWS (or whose process died mid-way), when an event or
   * the sweep comes back to it. One resumer at a time (a conditional claim); past the stuck limit
   * the incident fails and pages.
   */
  private async resume(incidentId: string): Promise<Incident | undefined> {
    const { store, settings } = this.deps;
    const incident = await store.get(incidentId);
    if (!incident || incident.status !== IncidentStatus.Remediating) return incident;
    const idleMs = this.now().getTime() - new Date(incident.updatedAt).getTime();
    // A remediation untouched for longer than any Lambda timeout was interrupted; otherwise it still runs.
    if (!incident.workflow?.waitingFor && idleMs < settings.remediationStaleSeconds * 1000) return incident;
    if (!(await store.claim(incidentId, incident.updatedAt))) return incident;
    this.deps.metrics.count(Metric.RemediationResumed);
    const startedAt = new Date(incident.workflow?.startedAt ?? incident.detectedAt).getTime();
    const stuckMs = settings.workflowStuckMinutes * 60_000;
    if (this.now().getTime() - startedAt > stuckMs) {
      const reason = `stuck: still waiting for ${incident.workflow?.waitingFor ?? 'a step to finish'} after ${settings.workflowStuckMinutes} minutes; resources created so far are listed in the steps`;
      await store.setStatus(incidentId, IncidentStatus.Failed, reason);
      this.deps.metrics.count(Metric.RemediationStuck);
      return this.alert(incidentId);
    }
    const ref = {
      resourceType: incident.resourceType,
      resourceId: incident.resourceId,
      region: incident.region,
      accountId: incident.account,
    };
    const resource = await this.rule.load(ref, this.deps.aws, settings);
    if (!resource) {
      await store.setStatus(incidentId, IncidentStatus.Failed, 'the resource disappeared during remediation');
      return this.alert(incidentId);
    }
    const verdict = this.rule.detect(resource, settings);
    const finding: Finding = verdict.compliant
      ? {
          compliant: false,
          reason: incident.reason,
          evidence: incident.evidence,
          plan: 'finish the remediation',
        }
      : verdict;
    return this.remediateAndFinish(incident, resource, finding);
  }

  /**
   * After a verified fix, asks Config to evaluate the paired rules now, so its console turns green
   * at once instead of at the next periodic run. Best effort: recorded as a step; a failure is noted
   * there and counted, never fails the remediation.
   */
  private async reevaluateConfigRules(incident: Incident): Promise<void> {
    const { settings, aws, logger, metrics } = this.deps;
    // A Config custom rule invocation is answered with PutEvaluations already.
    if (incident.trigger.source === TriggerSource.ConfigRule) return;
    const region = incident.region === 'global' ? settings.homeRegion : incident.region;
    const names = new Set<string>();
    // CloudFormation creates the stack's own rules in the home region only.
    if (settings.configRules && this.rule.triggers.customConfigRule && region === settings.homeRegion)
      names.add(`${settings.stackName}-${this.rule.id}`);
    if (incident.trigger.source === TriggerSource.ConfigCompliance && incident.trigger.configRuleName)
      names.add(incident.trigger.configRuleName);
    if (names.size === 0) return;
    const ConfigRuleNames = [...names];
    try {
      await this.stepRecorder(incident.incidentId)(
        'StartConfigRulesEvaluation',
        () => aws.config(region).send(new StartConfigRulesEvaluationCommand({ ConfigRuleNames })),
        { output: () => ({ configRules: ConfigRuleNames.join(',') }) },
      );
    } catch (error) {
      metrics.count(Metric.ConfigReevaluationFailed);
      logger.warn('Config re-evaluation failed; the remediation stands', {
        ruleId: this.rule.id,
        incidentId: incident.incidentId,
        error: errorMessage(error),
      });
    }
  }

  /**
   * Honest status: remediated only after a read shows the resource compliant, gone, or kept as
   * evidence by this incident (its replacement proven by the incident's record). Says which.
   */
  private async verify(incident: Incident, before: Loaded<unknown>): Promise<boolean> {
    const { attempts, delayMs } = this.deps.verify ?? { attempts: 5, delayMs: 500 };
    const ref = {
      resourceType: before.resourceType,
      resourceId: before.resourceId,
      region: before.region,
      accountId: before.accountId,
    };
    const { aws, settings } = this.deps;
    const read = async () => {
      const after = await this.rule.load(ref, aws, settings);
      // Gone counts: a remediation may delete what it replaced (configured), leaving nothing non-compliant.
      if (after === undefined || this.rule.detect(after, settings).compliant)
        return { fixed: true, kept: false };
      return { fixed: false, kept: await keepsAsEvidence(this.rule, after, incident, aws) };
    };
    const step = this.stepRecorder(incident.incidentId);
    const verified = await step(
      'Verify',
      async () => {
        const { satisfied, value } = await retryUntil(read, (after) => after.fixed || after.kept, {
          attempts,
          delayMs,
        });
        if (!satisfied) throw new Error('the resource still reads as non-compliant after remediation');
        return value;
      },
      { output: (value): Summary => (value.kept ? { originalKeptAsEvidence: true } : {}) },
    );
    return verified.kept;
  }

  private stepRecorder(incidentId: string): StepRecorder {
    const { store } = this.deps;
    return async (action, run, options = {}) => {
      const started: Step = {
        action,
        at: this.now().toISOString(),
        result: StepResult.Running,
        undo: options.undo,
      };
      const index = await store.appendStep(incidentId, started);
      try {
        const result = await run();
        await store.replaceStep(incidentId, index, {
          ...started,
          result: StepResult.Succeeded,
          output: options.output?.(result),
        });
        return result;
      } catch (error) {
        await store.replaceStep(incidentId, index, {
          ...started,
          result: StepResult.Failed,
          error: errorMessage(error).slice(0, 512),
        });
        throw error;
      }
    };
  }

  /** At-least-once alert: recorded pending before Publish, sent (with the message id) after. */
  private async alert(incidentId: string): Promise<Incident> {
    const { store, alerts, settings } = this.deps;
    const incident = await store.get(incidentId);
    if (!incident) throw new Error(`incident ${incidentId} vanished before its alert`);
    if (incident.alert?.status === 'sent') return incident;
    await store.setAlert(incidentId, { status: 'pending', at: this.now().toISOString() });
    const messageId = await alerts.publish(buildAlert(incident, settings.runbookBaseUrl));
    const alert = { status: 'sent' as const, messageId, at: this.now().toISOString() };
    await store.setAlert(incidentId, alert);
    this.deps.metrics.count(Metric.AlertsSent);
    return { ...incident, alert };
  }

  /**
   * Takes up an incident whose process died after opening it and before deciding anything (exemption,
   * mode, guard): still open, with no reason and no alert. Once it has been idle as long as an
   * interrupted remediation, the one resumer whose claim wins decides it; otherwise it would stay open
   * and unremediated, every later delivery collapsing on it.
   */
  private async decideAbandoned(
    incidentId: string,
    resource: Loaded<unknown>,
    finding: Finding,
  ): Promise<void> {
    const { store, settings } = this.deps;
    const incident = await store.get(incidentId);
    if (incident?.status !== IncidentStatus.Open || incident.statusReason || incident.alert) return;
    const idleMs = this.now().getTime() - new Date(incident.updatedAt).getTime();
    if (idleMs < settings.remediationStaleSeconds * 1000) return;
    if (!(await store.claim(incidentId, incident.updatedAt))) return;
    this.deps.metrics.count(Metric.RemediationResumed);
    await this.respond(incident, resource, finding);
  }

  /**
   * Pages for an incident whose alert a crashed process left unsent: "pending" (it died between
   * recording and sending) or none at all (it died before recording). Only once the incident has
   * been idle as long as an interrupted remediation, and only by the one resumer whose claim wins,
   * so a process that is still finishing is never paged over.
   */
  private async resumeAlert(incidentId: string): Promise<Incident | undefined> {
    const { store, settings } = this.deps;
    const incident = await store.get(incidentId);
    if (!incident || incident.alert?.status === 'sent') return incident;
    const unalerted = [IncidentStatus.Open, IncidentStatus.Remediated, IncidentStatus.Failed] as string[];
    if (incident.alert?.status !== 'pending' && !unalerted.includes(incident.status)) return incident;
    const idleMs = this.now().getTime() - new Date(incident.updatedAt).getTime();
    if (idleMs < settings.remediationStaleSeconds * 1000) return incident;
    if (!(await store.claim(incidentId, incident.updatedAt))) return incident;
    return this.alert(incidentId);
  }

  private async alertGuardTripped(incident: Incident, reason: string): Promise<void> {
    this.deps.metrics.count(Metric.GuardTripped);
    this.deps.logger.warn('blast-radius guard tripped', { ruleId: this.rule.id });
    await this.deps.alerts.publish(buildGuardAlert(incident, reason));
  }

  private async resolveOpenDrift(resource: Loaded<unknown>): Promise<void> {
    const { store } = this.deps;
    const incidentId = await store.openDrift(this.rule.id, resource.arn);
    if (!incidentId) return;
    const incident = await store.get(incidentId);
    // A remediation holds the lock until it finishes; an interrupted one is finished now.
    if (incident?.status === IncidentStatus.Remediating) {
      await this.resume(incidentId);
      return;
    }
    // An undone incident keeps saying so: a person reversed the fix on purpose.
    if (
      incident &&
      incident.status !== IncidentStatus.Remediated &&
      incident.status !== IncidentStatus.Undone
    ) {
      await store.setStatus(incidentId, IncidentStatus.Resolved, 'found compliant again by a later check');
    }
    // A remediated incident whose alert never went out pages before its lock is let go.
    if (incident?.status === IncidentStatus.Remediated) {
      const alerted = await this.resumeAlert(incidentId);
      // Not yet sent: the process that remediated is still finishing, and lets the lock go itself.
      if (alerted?.alert?.status !== 'sent') return;
    }
    await store.releaseDrift(this.rule.id, resource.arn, incidentId);
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
      mode: this.mode,
      status: IncidentStatus.Open,
      steps: [],
      runbook: this.rule.runbook,
    };
  }
}
