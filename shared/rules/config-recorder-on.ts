import {
  type ConfigServiceClient,
  type ConfigurationRecorder,
  DescribeConfigurationRecorderStatusCommand,
  DescribeConfigurationRecordersCommand,
  StartConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import { isAwsError } from '../aws/aws-errors';
import type { AwsClients } from '../aws/clients';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { RECORDER } from '../resources/recorder';
import { defineRule, type Loaded, type ResourceRef, type Verdict } from './rule';

/** The name AWS Config gives a recorder created without one, and the id of a region without any. */
export const DEFAULT_RECORDER = 'default';

/**
 * A recorder as the rule judges it. Deleted (or never created) is drift too: `regionHasNone` says
 * whether the region is left with no customer-managed recorder at all.
 */
type RecorderState =
  | { exists: false; regionHasNone: boolean }
  | { exists: true; recording: boolean; lastStatus: string | null };

/**
 * Service-linked recorders (servicePrincipal set) belong to the AWS service that created them and
 * cannot be started or stopped by the account: only customer-managed recorders are judged.
 */
const customerManaged = (recorder: ConfigurationRecorder): boolean => !recorder.servicePrincipal;

function toLoaded(
  name: string,
  scope: { accountId: string; region: string },
  state: RecorderState,
): Loaded<RecorderState> {
  return {
    resourceType: RECORDER,
    resourceId: name,
    // Built from the name (AWS's own recorder ARNs carry a suffix that is gone once the recorder
    // is): the same resource for a Stop event, a Delete event and the sweep, so one drift lock.
    arn: `arn:aws:config:${scope.region}:${scope.accountId}:configuration-recorder/${name}`,
    region: scope.region,
    accountId: scope.accountId,
    // Recorders cannot be exempted by tag: set MODE_CONFIG_RECORDER_ON=off where Config is not used.
    tags: {},
    state,
  };
}

async function recorders(config: ConfigServiceClient): Promise<ConfigurationRecorder[]> {
  const { ConfigurationRecorders = [] } = await config.send(new DescribeConfigurationRecordersCommand({}));
  return ConfigurationRecorders.filter(customerManaged);
}

async function recordingByName(config: ConfigServiceClient, names: string[]) {
  const { ConfigurationRecordersStatus = [] } = await config.send(
    new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: names }),
  );
  return new Map(ConfigurationRecordersStatus.map((status) => [status.name ?? '', status]));
}

async function loadRecorder(ref: ResourceRef, aws: AwsClients): Promise<Loaded<RecorderState> | undefined> {
  const config = aws.config(ref.region);
  const name = ref.resourceId;
  let recorder: ConfigurationRecorder | undefined;
  try {
    const result = await config.send(
      new DescribeConfigurationRecordersCommand({ ConfigurationRecorderNames: [name] }),
    );
    recorder = result.ConfigurationRecorders?.[0];
  } catch (error) {
    // Only "no such recorder" means gone; throttling or a denied read propagates.
    if (!isAwsError(error, 'NoSuchConfigurationRecorderException')) throw error;
  }
  if (!recorder) {
    const regionHasNone = (await recorders(config)).length === 0;
    return toLoaded(name, ref, { exists: false, regionHasNone });
  }
  if (!customerManaged(recorder)) return undefined;
  const status = (await recordingByName(config, [name])).get(name);
  return toLoaded(name, ref, {
    exists: true,
    recording: status?.recording === true,
    lastStatus: status?.lastStatus ?? null,
  });
}

export const configRecorderOn = defineRule<RecorderState>({
  id: 'config-recorder-on',
  title: 'AWS Config recorder is not recording',
  severity: Severity.High,
  hipaa: ['164.312(b)', '164.308(a)(1)(ii)(D)'],
  runbook: 'docs/runbooks/config-recorder-on.md',
  readme: {
    enforce:
      'starts a stopped AWS Config recorder again; a deleted recorder, or a region without one, is reported with what to recreate',
    modeNote: '`off` in a region that deliberately does not use AWS Config',
  },
  undoActions: ['config:StopConfigurationRecorder'],
  defaultMode: Mode.Enforce,
  resourceType: RECORDER,
  triggers: {
    cloudTrail: {
      eventNames: ['StopConfigurationRecorder', 'DeleteConfigurationRecorder'],
    },
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'Recorders',
      actions: [
        'config:DescribeConfigurationRecorders',
        'config:DescribeConfigurationRecorderStatus',
        'config:StartConfigurationRecorder',
      ],
      why: 'Recorder calls take no resource ARN.',
    },
  ],

  async load(ref, aws) {
    return loadRecorder(ref, aws);
  },

  /** Every customer-managed recorder of the region; a region with none is one finding, id `default`. */
  async *list(scope, aws) {
    const config = aws.config(scope.region);
    const found = await recorders(config);
    if (found.length === 0) {
      yield toLoaded(DEFAULT_RECORDER, scope, { exists: false, regionHasNone: true });
      return;
    }
    const names = found.map((recorder) => recorder.name ?? DEFAULT_RECORDER);
    const statuses = await recordingByName(config, names);
    for (const name of names) {
      const status = statuses.get(name);
      yield toLoaded(name, scope, {
        exists: true,
        recording: status?.recording === true,
        lastStatus: status?.lastStatus ?? null,
      });
    }
  },

  detect(resource): Verdict {
    const { state, resourceId: name, region } = resource;
    if (!state.exists) {
      return {
        compliant: false,
        reason: state.regionHasNone
          ? `no AWS Config configuration recorder in ${region}${name === DEFAULT_RECORDER ? '' : ` (recorder ${name} was deleted)`}: resource changes there are not recorded`
          : `AWS Config configuration recorder ${name} was deleted in ${region}`,
        evidence: { recorderExists: false, regionHasRecorder: !state.regionHasNone },
        plan: 'Nothing automatic: a recorder is created by its owner (IAM role, recording group, delivery channel)',
        resourceGone: true,
      };
    }
    if (state.recording) return { compliant: true };
    return {
      compliant: false,
      reason: `AWS Config configuration recorder ${name} is stopped: resource changes in ${region} are not recorded`,
      evidence: { recorderExists: true, recording: false, lastStatus: state.lastStatus },
      plan: `StartConfigurationRecorder ${name} in ${region}`,
    };
  },

  async remediate(resource, _finding, { aws, step }) {
    const { state, resourceId: name, region } = resource;
    if (!state.exists) {
      throw new RemediationDeclined(
        state.regionHasNone
          ? `no configuration recorder in ${region}; the responder does not create one (its IAM role, recording scope and delivery channel are the owner's): recreate it (PutConfigurationRecorder with its IAM role and recording group, PutDeliveryChannel, then StartConfigurationRecorder), or set this rule's mode to off in a region that deliberately does not use Config`
          : `configuration recorder ${name} was deleted; recreate it (PutConfigurationRecorder with its IAM role and recording group, then StartConfigurationRecorder): the responder does not recreate recorders`,
      );
    }
    if (state.recording) return;
    try {
      await step(
        'StartConfigurationRecorder',
        () =>
          aws.config(region).send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: name })),
        {
          undo: {
            service: 'config',
            action: 'StopConfigurationRecorder',
            input: { ConfigurationRecorderName: name, Region: region },
          },
        },
      );
    } catch (error) {
      if (isAwsError(error, 'NoAvailableDeliveryChannelException')) {
        throw new RemediationDeclined(
          `configuration recorder ${name} cannot start: ${region} has no delivery channel (PutDeliveryChannel first, then StartConfigurationRecorder)`,
          { cause: error },
        );
      }
      throw error;
    }
  },
});
