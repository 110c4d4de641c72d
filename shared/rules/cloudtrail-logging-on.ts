import {
  DescribeTrailsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  paginateListTags,
  StartLoggingCommand,
  type Trail,
  UpdateTrailCommand,
  type UpdateTrailCommandInput,
} from '@aws-sdk/client-cloudtrail';
import { isAwsError } from '../aws/aws-errors';
import type { AwsClients } from '../aws/clients';
import { OwnCall, refuseOutsideShape } from '../aws/own-calls';
import type { Settings } from '../config';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { TRAIL } from '../resources/trail';
import { flag } from '../setting-schemas';
import { defineRule, type Loaded, type ResourceRef, Stack, type Verdict } from './rule';
import { ruleSetting, settingsReader } from './settings';

/**
 * A trail as the rule judges it. A deleted trail is drift too (exists: false): a DeleteTrail event
 * must page, not be filed as "not applicable".
 */
type TrailState =
  | { exists: false }
  | {
      exists: true;
      isLogging: boolean;
      logFileValidation: boolean;
      multiRegion: boolean;
      organizationTrail: boolean;
    };

const TRAIL_ARN = /^arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):(\d{12}):trail\/(.+)$/;

/** Events name a trail by name or ARN; an ARN also says the home region, where the trail must be read. */
function whereIs(ref: ResourceRef) {
  const arn = TRAIL_ARN.exec(ref.resourceId);
  if (!arn) {
    return { name: ref.resourceId, region: ref.region, accountId: ref.accountId, partition: 'aws' };
  }
  const [, partition = 'aws', region = ref.region, accountId = ref.accountId, name = ref.resourceId] = arn;
  return { name, region, accountId, partition };
}

const regionOfArn = (arn: string): string | undefined => TRAIL_ARN.exec(arn)?.[2];

function gone(where: ReturnType<typeof whereIs>): Loaded<TrailState> {
  return {
    resourceType: TRAIL,
    resourceId: where.name,
    // Built from the name, the same ARN the trail had: the drift lock of a StopLogging incident still matches.
    arn: `arn:${where.partition}:cloudtrail:${where.region}:${where.accountId}:trail/${where.name}`,
    region: where.region,
    accountId: where.accountId,
    tags: {},
    state: { exists: false },
  };
}

/** Status and tags of a trail, read in its home region (the only region that answers for its state). */
async function describeTrail(trail: Trail, accountId: string, aws: AwsClients): Promise<Loaded<TrailState>> {
  const arn = trail.TrailARN ?? '';
  const name = trail.Name ?? arn;
  // moto 5.2.1's GetTrail omits HomeRegion; a trail's ARN always names its home region.
  const homeRegion = trail.HomeRegion ?? regionOfArn(arn);
  if (!arn || !homeRegion) throw new Error(`CloudTrail returned trail ${name} without an ARN or home region`);
  const cloudtrail = aws.cloudtrail(homeRegion);
  const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: arn }));
  const tags: Record<string, string> = {};
  for await (const page of paginateListTags({ client: cloudtrail }, { ResourceIdList: [arn] })) {
    for (const entry of page.ResourceTagList ?? []) {
      if (entry.ResourceId !== arn) continue;
      for (const tag of entry.TagsList ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
    }
  }
  return {
    resourceType: TRAIL,
    resourceId: name,
    arn,
    region: homeRegion,
    accountId,
    tags,
    state: {
      exists: true,
      isLogging: status.IsLogging === true,
      logFileValidation: trail.LogFileValidationEnabled === true,
      multiRegion: trail.IsMultiRegionTrail === true,
      organizationTrail: trail.IsOrganizationTrail === true,
    },
  };
}

async function loadTrail(ref: ResourceRef, aws: AwsClients): Promise<Loaded<TrailState>> {
  const where = whereIs(ref);
  try {
    const { Trail: trail } = await aws
      .cloudtrail(where.region)
      .send(new GetTrailCommand({ Name: ref.resourceId }));
    if (!trail) return gone(where);
    return await describeTrail(trail, where.accountId, aws);
  } catch (error) {
    // Only "no such trail" means gone; throttling or a denied read propagates.
    if (isAwsError(error, 'TrailNotFoundException')) return gone(where);
    throw error;
  }
}

const declineDeleted = (settings: Settings): string =>
  mine(settings).recreateDeletedTrail
    ? "trail deleted; RECREATE_DELETED_TRAIL is on, but a deleted trail's bucket, KMS key, event selectors and tags cannot be read back, so the responder cannot recreate it faithfully: recreate it from its infrastructure code"
    : 'trail deleted; recreating is off (RECREATE_DELETED_TRAIL)';

const declared = {
  recreateDeletedTrail: ruleSetting({
    parameter: 'recreateDeletedTrail',
    variable: 'RECREATE_DELETED_TRAIL',
    fallback: 'false',
    doc: 'recreate a deleted CloudTrail trail; today a deleted trail stays declined either way (its bucket, key and selectors cannot be read back) and the incident says why',
    schema: flag,
  }),
};
const mine = settingsReader(declared);

export const cloudtrailLoggingOn = defineRule<TrailState>({
  id: 'cloudtrail-logging-on',
  settings: declared,
  title: 'CloudTrail trail is not logging',
  severity: Severity.Critical,
  hipaa: ['164.312(b)', '164.308(a)(1)(ii)(D)'],
  runbook: 'docs/runbooks/cloudtrail-logging-on.md',
  readme: {
    enforce:
      'starts a stopped trail again in its home region; turns log file validation and multi-region back on (`UpdateTrail`); a deleted trail raises a CRITICAL incident and is not recreated',
  },
  undoActions: ['cloudtrail:StopLogging', 'cloudtrail:UpdateTrail'],
  defaultMode: Mode.Enforce,
  resourceType: TRAIL,
  triggers: {
    cloudTrail: {
      eventNames: ['StopLogging', 'DeleteTrail', 'UpdateTrail'],
    },
    // The sweep is not optional: while no trail logs, EventBridge receives no CloudTrail events at all.
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ListTrails',
      actions: ['cloudtrail:DescribeTrails'],
      why: 'DescribeTrails has no resource-level permissions.',
    },
    {
      sid: 'Trails',
      actions: [
        'cloudtrail:GetTrail',
        'cloudtrail:GetTrailStatus',
        'cloudtrail:ListTags',
        'cloudtrail:StartLogging',
        'cloudtrail:UpdateTrail',
      ],
      resources: [`arn:${Stack.partition}:cloudtrail:*:${Stack.accountId}:trail/*`],
      why: 'Any region: a trail is read, started and updated in its home region.',
    },
  ],

  async load(ref, aws) {
    return loadTrail(ref, aws);
  },

  /**
   * Trails homed in the swept region (shadow copies of multi-region trails are left to the stack in
   * their home region, so each trail is judged once, where it can be changed).
   */
  async *list(scope, aws) {
    const { trailList = [] } = await aws
      .cloudtrail(scope.region)
      .send(new DescribeTrailsCommand({ includeShadowTrails: false }));
    for (const trail of trailList) {
      const homeRegion = trail.HomeRegion ?? regionOfArn(trail.TrailARN ?? '');
      if (homeRegion !== scope.region) continue;
      yield await describeTrail(trail, scope.accountId, aws);
    }
  },

  detect(resource, settings): Verdict {
    const { state } = resource;
    if (!state.exists) {
      return {
        compliant: false,
        reason: `CloudTrail trail ${resource.resourceId} was deleted: API activity is no longer recorded through it`,
        evidence: { trailExists: false, recreateDeletedTrail: mine(settings).recreateDeletedTrail },
        plan: 'Nothing automatic: a deleted trail is recreated by its owner from its infrastructure code',
        resourceGone: true,
      };
    }
    const problems: string[] = [];
    const plan: string[] = [];
    if (!state.isLogging) {
      problems.push('logging is stopped');
      plan.push(`StartLogging in ${resource.region}`);
    }
    if (!state.logFileValidation) {
      problems.push('log file validation is off');
      plan.push('turn log file validation on (UpdateTrail)');
    }
    if (!state.multiRegion) {
      problems.push('it records its home region only');
      plan.push('make it multi-region (UpdateTrail)');
    }
    if (problems.length === 0) return { compliant: true };
    return {
      compliant: false,
      reason: `CloudTrail trail ${resource.resourceId}: ${problems.join(', ')}`,
      evidence: {
        trailExists: true,
        isLogging: state.isLogging,
        logFileValidation: state.logFileValidation,
        multiRegion: state.multiRegion,
        organizationTrail: state.organizationTrail,
        homeRegion: resource.region,
      },
      plan: plan.join('; '),
    };
  },

  async remediate(resource, _finding, { aws, settings, step }) {
    const { state } = resource;
    if (!state.exists) throw new RemediationDeclined(declineDeleted(settings));
    // Only the home region may start or update a trail. The name, not the ARN: in the home region
    // the name is unambiguous, and moto 5.2.1 fails StartLogging called with an ARN.
    const cloudtrail = aws.cloudtrail(resource.region);
    const name = resource.resourceId;
    const where = { Name: resource.arn, Region: resource.region };
    // Logging first: every minute without it is a minute with no audit record.
    if (!state.isLogging) {
      await step('StartLogging', () => cloudtrail.send(new StartLoggingCommand({ Name: name })), {
        undo: { service: 'cloudtrail', action: 'StopLogging', input: where },
      });
    }
    const update: UpdateTrailCommandInput = { Name: name };
    const previous: Record<string, boolean> = {};
    if (!state.logFileValidation) {
      update.EnableLogFileValidation = true;
      previous.EnableLogFileValidation = false;
    }
    if (!state.multiRegion) {
      update.IsMultiRegionTrail = true;
      previous.IsMultiRegionTrail = false;
    }
    if (Object.keys(previous).length > 0) {
      // IAM cannot limit UpdateTrail's fields (a bucket, a key): the shape refuses any but these two.
      const send = async () => {
        refuseOutsideShape(OwnCall.UpdateTrail, update);
        return cloudtrail.send(new UpdateTrailCommand(update));
      };
      await step('UpdateTrail', send, {
        undo: { service: 'cloudtrail', action: 'UpdateTrail', input: { ...where, ...previous } },
        output: (result) => ({
          logFileValidation: result.LogFileValidationEnabled ?? null,
          multiRegion: result.IsMultiRegionTrail ?? null,
        }),
      });
    }
  },
});
