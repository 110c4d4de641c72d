import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  type EC2Client,
  EC2ServiceException,
  type Filter,
  type Instance,
  ModifyInstancePlacementCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../aws/aws-errors';
import type { AwsClients } from '../aws/clients';
import {
  type InstanceManager,
  type InstanceStoreLookup,
  instanceManager,
  instanceStoreLookup,
  readStopFacts,
  type StopFacts,
  stopBlocker,
  stopCosts,
} from '../aws/ec2-instances';
import { InstancePower } from '../aws/instance-power';
import { tagRecord } from '../aws/tags';
import { mapWithConcurrency } from '../concurrency';
import type { Settings } from '../config';
import { RemediationDeclined, ResponderError } from '../errors';
import { Mode, Severity } from '../model';
import type { RecordedItem } from '../resources/config-item';
import { INSTANCE, instanceOfItem } from '../resources/instance';
import { inTagScope, type TagScope, tagScope } from '../setting-schemas';
import * as z from '../zod';
import {
  defineRule,
  type Loaded,
  REEVALUATE_PAIRED_CONFIG_RULES,
  type RemediationContext,
  Stack,
  type Waiting,
} from './rule';
import { scopeLabel } from './scope';
import { ruleSetting, settingsReader } from './settings';

/** Enforce's two remediations (TENANCY_ACTION): lock the instance down, or move it to dedicated hardware. */
export const TenancyAction = { Stop: 'stop', Retenancy: 'retenancy' } as const;
export type TenancyAction = (typeof TenancyAction)[keyof typeof TenancyAction];

/** Set on an instance the responder stopped: its value is the incident that explains why. */
export const INCIDENT_TAG = 'compliance-responder:incident';

/** States in which an instance runs (or is about to): PHI on shared hardware. */
const RUNNING_STATES: ReadonlySet<string> = new Set(['pending', 'running']);
/** States a sweep looks at; shutting-down and terminated instances are gone (see load). */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/** How many instances of a sweep page have their stop facts read at once. */
const FACT_READ_CONCURRENCY = 4;

/** Throttling that outlived the SDK's retries is a failure, not AWS refusing the change. */
const THROTTLING_ERRORS: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
]);

interface InstancePlacement {
  /** pending | running | stopping | stopped */
  instanceState: string;
  /** default (shared hardware) | dedicated | host */
  tenancy: string;
  instanceType: string;
  manager: InstanceManager | undefined;
  /** Read only for PHI instances that run on shared tenancy and no manager owns: those a stop may hit. */
  stop: StopFacts | undefined;
}

/** AWS answered ModifyInstancePlacement with Return=false: a refusal without an error code. */
class PlacementRefusedError extends ResponderError {
  override name = 'PlacementRefusedError';
}

/** Server-side filters for the sweep. Detect decides scope exactly; the tag filter only narrows pages. */
function sweepFilters(scope: TagScope): Filter[] {
  const filters: Filter[] = [{ Name: 'instance-state-name', Values: LIVE_STATES }];
  // EC2 filter values treat * ? and \ as wildcards and escapes: filter by tag only for plain words.
  if (scope.kind !== 'tag' || /[*?\\]/.test(scope.key)) return filters;
  if (scope.value === undefined) filters.push({ Name: 'tag-key', Values: [scope.key] });
  else if (scope.value !== '' && !/[*?\\]/.test(scope.value))
    filters.push({ Name: `tag:${scope.key}`, Values: [scope.value] });
  return filters;
}

/**
 * The instance as the rule judges it. `stop` is read (other calls) only for PHI instances that run
 * on shared tenancy and no manager owns: those a stop may hit (see mayBeStopped).
 */
function placementOf(
  instance: Instance,
  scope: { accountId: string; region: string },
  stop: StopFacts | undefined,
): Loaded<InstancePlacement> {
  const instanceId = instance.InstanceId ?? '';
  const tags = tagRecord(instance.Tags);
  return {
    resourceType: INSTANCE,
    resourceId: instanceId,
    arn: `arn:aws:ec2:${scope.region}:${scope.accountId}:instance/${instanceId}`,
    region: scope.region,
    accountId: scope.accountId,
    tags,
    state: {
      instanceState: instance.State?.Name ?? 'unknown',
      // EC2 always reports tenancy; if it ever did not, treat it as shared, the side that gets looked at.
      tenancy: instance.Placement?.Tenancy ?? 'default',
      instanceType: instance.InstanceType ?? 'unknown',
      manager: instanceManager(tags),
      stop,
    },
  };
}

const mayBeStopped = ({ state, tags }: Loaded<InstancePlacement>, settings: Settings): boolean =>
  state.manager === undefined &&
  state.tenancy === 'default' &&
  RUNNING_STATES.has(state.instanceState) &&
  inTagScope(tags, mine(settings).scope);

async function toLoaded(
  instance: Instance,
  scope: { accountId: string; region: string },
  ec2: EC2Client,
  settings: Settings,
  instanceStore: InstanceStoreLookup,
): Promise<Loaded<InstancePlacement>> {
  const placement = placementOf(instance, scope, undefined);
  if (!mayBeStopped(placement, settings)) return placement;
  return placementOf(instance, scope, await readStopFacts(ec2, instance, instanceStore));
}

/**
 * A configuration item, as load() reads the instance. Config does not record the stop facts
 * (stop protection, instance-store volumes, Elastic IPs, Spot requests), so `stop` stays undefined:
 * the verdict (compliant or not, and its reason) is the same, but its evidence names no stop facts
 * and its plan no stop costs or blockers. Whatever enforce does reads the instance live first.
 */
function placementOfItem(item: RecordedItem): Loaded<InstancePlacement> | undefined {
  const instance = instanceOfItem(item);
  // Terminated and terminating instances are gone, as for load().
  return LIVE_STATES.includes(instance.State?.Name ?? '')
    ? placementOf(instance, item, undefined)
    : undefined;
}

/** Why enforce leaves this instance alone (said by the plan in notify mode, by the decline in enforce). */
function whyNotChanged(resource: Loaded<InstancePlacement>): string | undefined {
  const { manager, stop, instanceType } = resource.state;
  if (manager) {
    return `it is managed by ${manager.description}, which would replace an instance the responder stopped: set tenancy dedicated in ${manager.launchSource} and replace its instances`;
  }
  const blocker = stop && stopBlocker(stop, instanceType);
  return blocker && `${blocker}; move it to dedicated tenancy by hand (see the runbook)`;
}

function planFor(resource: Loaded<InstancePlacement>, action: TenancyAction): string {
  const id = resource.resourceId;
  const declined = whyNotChanged(resource);
  if (declined) return `no change to ${id}: ${declined}`;
  const { stop, instanceState } = resource.state;
  const costs = stop ? stopCosts(stop) : [];
  const costWords = costs.length ? ` (${costs.join('; ')})` : '';
  if (action === TenancyAction.Stop) {
    return `Tag ${id} ${INCIDENT_TAG}=<incident id> and stop it${costWords}; it stays on shared tenancy until it is moved`;
  }
  return RUNNING_STATES.has(instanceState)
    ? `Stop ${id}, change its tenancy to dedicated and start it again${costWords}`
    : `Change the tenancy of ${id} to dedicated; it stays ${instanceState}`;
}

/** An error AWS answered with, other than throttling: its refusal of the change, in words. */
function refusalOf(error: unknown): string | undefined {
  if (error instanceof PlacementRefusedError) return error.message;
  if (
    error instanceof EC2ServiceException &&
    error.$fault === 'client' &&
    !THROTTLING_ERRORS.has(error.name)
  ) {
    return `${error.name}: ${error.message}`.slice(0, 300);
  }
  return undefined;
}

/** The recorded EC2 changes and bounded waits of one remediation: tagging and placement on top of stop and start. */
class InstanceSteps extends InstancePower {
  constructor(resource: Loaded<InstancePlacement>, ctx: RemediationContext) {
    super(resource.resourceId, resource.region, ctx);
  }

  /** Marks the instance with its incident before it is stopped, so whoever finds it stopped knows why. */
  tagIncident() {
    const tags = [{ Key: INCIDENT_TAG, Value: this.ctx.incidentId }];
    return this.ctx.step(
      'CreateTags',
      () => this.ec2.send(new CreateTagsCommand({ Resources: [this.id], Tags: tags })),
      {
        undo: {
          service: 'ec2',
          action: 'DeleteTags',
          input: { Resources: [this.id], Tags: tags, Region: this.region },
        },
      },
    );
  }

  moveToDedicated() {
    return this.ctx.step(
      'ModifyInstancePlacement',
      async () => {
        const result = await this.ec2.send(
          new ModifyInstancePlacementCommand({ InstanceId: this.id, Tenancy: 'dedicated' }),
        );
        if (result.Return === false) throw new PlacementRefusedError('EC2 answered Return=false');
        return result;
      },
      {
        undo: {
          service: 'ec2',
          action: 'ModifyInstancePlacement',
          input: { InstanceId: this.id, Tenancy: 'default', Region: this.region },
        },
      },
    );
  }
}

/**
 * Lock-down: tag, then stop. Never terminate. An instance that no longer runs is already contained
 * (a resumed run after the stop finds nothing left to do).
 */
async function lockDown(
  resource: Loaded<InstancePlacement>,
  steps: InstanceSteps,
): Promise<Waiting | undefined> {
  const state = resource.state.instanceState;
  if (!RUNNING_STATES.has(state)) return undefined;
  await steps.tagIncident();
  // EC2 refuses to stop an instance that never reached running.
  if (state === 'pending' && !(await steps.waitFor('running'))) {
    return { waitingFor: `${resource.resourceId} to finish starting so that it can be stopped` };
  }
  await steps.stop();
  return undefined;
}

/**
 * Retenancy: stop if running → wait until stopped → ModifyInstancePlacement → start only if it was
 * running. Re-entrant: every step first looks at what AWS shows now. A refusal restores the prior
 * state and declines with AWS's reason.
 */
async function retenancy(
  resource: Loaded<InstancePlacement>,
  steps: InstanceSteps,
  wasRunning: boolean,
): Promise<Waiting | undefined> {
  const id = resource.resourceId;
  let state = resource.state.instanceState;
  if (state === 'pending') {
    if (!(await steps.waitFor('running')))
      return { waitingFor: `${id} to finish starting before it is stopped` };
    state = 'running';
  }
  if (state === 'running') {
    await steps.stop();
    state = 'stopping';
  }
  if (state !== 'stopped' && !(await steps.waitFor('stopped'))) {
    return { waitingFor: `${id} to stop before its tenancy changes` };
  }
  try {
    await steps.moveToDedicated();
  } catch (error) {
    // Whatever went wrong, the instance goes back to how it was before it is reported.
    if (wasRunning) {
      await steps.start();
      await steps.confirmStarted();
    }
    const refusal = refusalOf(error);
    if (refusal === undefined) throw error;
    throw new RemediationDeclined(
      `AWS refused to move ${id} to dedicated tenancy (${refusal}); ${wasRunning ? 'it was started again and ' : ''}it stays on shared tenancy: move it by hand or launch a replacement on dedicated tenancy (see the runbook)`,
    );
  }
  if (wasRunning) {
    await steps.start();
    await steps.confirmStarted();
  }
  return undefined;
}

/** Whether the instance ran before the responder touched it, remembered across resumed invocations. */
async function rememberWasRunning(resource: Loaded<InstancePlacement>, ctx: RemediationContext) {
  const saved = ctx.workflow.state.wasRunning;
  if (typeof saved === 'boolean') return saved;
  const wasRunning = RUNNING_STATES.has(resource.state.instanceState);
  await ctx.workflow.save({ wasRunning });
  return wasRunning;
}

async function loadInstance(
  ref: { resourceId: string; region: string; accountId: string },
  aws: AwsClients,
  settings: Settings,
): Promise<Loaded<InstancePlacement> | undefined> {
  const ec2 = aws.ec2(ref.region);
  let instance: Instance | undefined;
  try {
    const result = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [ref.resourceId] }));
    instance = result.Reservations?.[0]?.Instances?.[0];
  } catch (error) {
    if (isAwsError(error, 'InvalidInstanceID.NotFound')) return undefined;
    throw error;
  }
  // Terminated and terminating instances are gone: nothing can run on them or be changed (NOT_APPLICABLE).
  if (!instance || !LIVE_STATES.includes(instance.State?.Name ?? '')) return undefined;
  return toLoaded(instance, ref, ec2, settings, instanceStoreLookup(ec2));
}

const declared = {
  scope: ruleSetting({
    parameter: 'phiScope',
    variable: 'PHI_SCOPE',
    fallback: 'tag:phi=true',
    doc: 'which instances hold PHI: `tag:<key>=<value>` (the tag must equal the value), `tag:<key>` (the tag is present) or `all`; an instance whose tag call takes it out of the scope is recorded and paged',
    schema: tagScope,
  }),
  tenancyAction: ruleSetting({
    parameter: 'tenancyAction',
    variable: 'TENANCY_ACTION',
    fallback: 'stop',
    doc: 'what enforce does to a PHI instance on shared tenancy: `stop` (lock down) or `retenancy` (move it to dedicated tenancy)',
    schema: z.enum(['stop', 'retenancy']),
  }),
};
const mine = settingsReader(declared);

export const phiDedicatedTenancy = defineRule<InstancePlacement>({
  id: 'phi-dedicated-tenancy',
  settings: declared,
  scope: { setting: declared.scope, covers: 'instance' },
  title: 'PHI instance on shared tenancy',
  severity: Severity.Medium,
  // 164.314(a): the business associate contract (and the organisation's own policy) set the
  // requirement; 164.312(a)(1) access control is the technical safeguard it serves.
  hipaa: ['164.314(a)', '164.312(a)(1)'],
  runbook: 'docs/runbooks/phi-dedicated-tenancy.md',
  readme: {
    enforce:
      '`tenancyAction: stop`: tags a running PHI instance on shared tenancy with its incident and stops it (never terminates); `retenancy`: stop → dedicated tenancy → start again if it ran; instances of Auto Scaling, EKS, Karpenter, EMR, Beanstalk and fleets, and instances that cannot be stopped safely, are left alone with the reason',
    safeguardNote: "organisational policy: AWS's BAA dropped the requirement in 2017",
    modeNote: 'read the runbook: dedicated tenancy is a policy choice, not a HIPAA or AWS BAA requirement',
  },
  undoActions: ['ec2:DeleteTags', 'ec2:StartInstances', 'ec2:StopInstances', 'ec2:ModifyInstancePlacement'],
  // AWS's BAA has not required dedicated instances since 2017: many organisations still do, by policy.
  defaultMode: Mode.Notify,
  resourceType: INSTANCE,
  triggers: {
    cloudTrail: {
      // Tag calls: an instance leaving the PHI scope is recorded and paged (the kit's scope; never remediated).
      eventNames: ['RunInstances', 'StartInstances', 'ModifyInstancePlacement', 'CreateTags', 'DeleteTags'],
    },
    configResourceTypes: [INSTANCE],
    managedConfigRules: [
      { sourceIdentifier: 'DESIRED_INSTANCE_TENANCY', ruleName: 'desired-instance-tenancy' },
    ],
    customConfigRule: true,
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadInstancesAndWhatAStopCosts',
      actions: [
        'ec2:DescribeInstances',
        'ec2:DescribeInstanceAttribute',
        'ec2:DescribeInstanceTypes',
        'ec2:DescribeAddresses',
        'ec2:DescribeSpotInstanceRequests',
      ],
      why: 'EC2 Describe* calls take no resource-level permissions.',
    },
    {
      sid: 'StopStartAndMoveInstances',
      actions: ['ec2:StopInstances', 'ec2:StartInstances', 'ec2:ModifyInstancePlacement'],
      resources: [`arn:${Stack.partition}:ec2:*:${Stack.accountId}:instance/*`],
      why:
        'No tag condition: the PHI scope tag is writable by insiders, so it cannot be a limit. Any region ' +
        '(the sweep and forwarded events act where the instance is), this account only.',
    },
    {
      sid: 'TagInstancesWithTheirIncidentOnly',
      actions: ['ec2:CreateTags'],
      resources: [`arn:${Stack.partition}:ec2:*:${Stack.accountId}:instance/*`],
      conditions: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [INCIDENT_TAG] } },
    },
    {
      sid: 'LetEc2UseCustomerManagedEbsKeysOnStart',
      actions: ['kms:CreateGrant'],
      resources: [`arn:${Stack.partition}:kms:*:${Stack.accountId}:key/*`],
      conditions: {
        Bool: { 'kms:GrantIsForAWSResource': 'true' },
        StringLike: { 'kms:ViaService': 'ec2.*.amazonaws.com' },
      },
      why: "StartInstances creates EC2's grant on a customer-managed EBS key as its caller.",
    },
    REEVALUATE_PAIRED_CONFIG_RULES,
  ],

  fromConfigItem: { [INSTANCE]: placementOfItem },

  load: loadInstance,

  async *list(scope, aws, settings) {
    const ec2 = aws.ec2(scope.region);
    const instanceStore = instanceStoreLookup(ec2);
    const pages = paginateDescribeInstances(
      { client: ec2, pageSize: 1000 },
      { Filters: sweepFilters(mine(settings).scope) },
    );
    for await (const page of pages) {
      const instances = (page.Reservations ?? [])
        .flatMap((reservation) => reservation.Instances ?? [])
        .filter((instance) => LIVE_STATES.includes(instance.State?.Name ?? ''));
      yield* await mapWithConcurrency(instances, FACT_READ_CONCURRENCY, (instance) =>
        toLoaded(instance, scope, ec2, settings, instanceStore),
      );
    }
  },

  detect(resource, settings) {
    // Out of the PHI scope never reaches here: the kit's scope (shared/rules/scope.ts) answers for it.
    const { instanceState, tenancy, instanceType, manager, stop } = resource.state;
    if (tenancy !== 'default') return { compliant: true };
    const running = RUNNING_STATES.has(instanceState);
    // Lock-down policy: PHI must not RUN on shared hardware, so a stopped instance is contained.
    // Retenancy policy: PHI instances belong on dedicated hardware, stopped or not.
    if (!running && mine(settings).tenancyAction === TenancyAction.Stop) return { compliant: true };
    const id = resource.resourceId;
    return {
      compliant: false,
      reason: running
        ? `PHI instance ${id} (${instanceType}) runs on shared tenancy in ${resource.region}; policy requires dedicated hardware`
        : `PHI instance ${id} (${instanceType}) is ${instanceState} on shared tenancy in ${resource.region}: it would run on shared hardware when started`,
      evidence: {
        instanceState,
        tenancy,
        instanceType,
        phiScope: scopeLabel(mine(settings).scope),
        tenancyAction: mine(settings).tenancyAction,
        managedBy: manager?.kind ?? null,
        rootDeviceType: stop?.rootDeviceType ?? null,
        hasInstanceStore: stop?.hasInstanceStore ?? null,
        hasPublicIp: stop?.hasPublicIp ?? null,
        publicIpIsElastic: stop?.publicIpIsElastic ?? null,
        disableApiStop: stop?.disableApiStop ?? null,
        instanceLifecycle: stop?.instanceLifecycle ?? null,
        spotRequestType: stop?.spotRequestType ?? null,
      },
      plan: planFor(resource, mine(settings).tenancyAction),
    };
  },

  async remediate(resource, _finding, ctx) {
    const action = mine(ctx.settings).tenancyAction;
    const steps = new InstanceSteps(resource, ctx);
    if (resource.state.tenancy !== 'default') {
      // Already off shared hardware (a resumed run after the change, or a person moved it): all
      // that can be left is the start a retenancy owes an instance it stopped.
      const owedStart = ctx.workflow.state.wasRunning === true && resource.state.instanceState === 'stopped';
      if (action === TenancyAction.Retenancy && owedStart) {
        await steps.start();
        await steps.confirmStarted();
      }
      return undefined;
    }
    const declined = whyNotChanged(resource);
    if (declined) throw new RemediationDeclined(`${resource.resourceId} was not changed: ${declined}`);
    const wasRunning = await rememberWasRunning(resource, ctx);
    return action === TenancyAction.Retenancy
      ? retenancy(resource, steps, wasRunning)
      : lockDown(resource, steps);
  },
});
