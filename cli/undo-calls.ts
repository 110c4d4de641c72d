import { StopLoggingCommand, UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { StopConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import {
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DetachVolumeCommand,
  DisableEbsEncryptionByDefaultCommand,
  ModifyEbsDefaultKmsKeyIdCommand,
  ModifyInstancePlacementCommand,
  ResetEbsDefaultKmsKeyIdCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { UpdateSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { z } from 'zod';
import type { AwsClients } from '../shared/aws/clients';
import type { Incident, UndoCall } from '../shared/model';
import { IAM_REGION } from '../shared/ssh/iam-keys';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const id = z.string().min(1).max(2048);
const one = z.tuple([id]);
const withRegion = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject({ ...shape, Region: z.string().regex(REGION).optional() });

const description = { Description: z.string().max(255).optional() };
/** The one permission shared/ssh/exposure.ts toIpPermission builds for a revoked rule. */
const ipPermission = z.strictObject({
  IpProtocol: z.string().min(1).max(16),
  FromPort: z.number().int().optional(),
  ToPort: z.number().int().optional(),
  IpRanges: z.tuple([z.strictObject({ CidrIp: id, ...description })]).optional(),
  Ipv6Ranges: z.tuple([z.strictObject({ CidrIpv6: id, ...description })]).optional(),
  PrefixListIds: z.tuple([z.strictObject({ PrefixListId: id, ...description })]).optional(),
  UserIdGroupPairs: z
    .tuple([z.strictObject({ GroupId: id, UserId: id.optional(), ...description })])
    .optional(),
});

/**
 * One call `incidents undo` may replay: the exact input the rules record (no other key), the ids in
 * it that must belong to the incident (`'account'`: an account-level call, only for an incident
 * whose resource is the account), and how it is sent, without its Region.
 */
interface Allowed<T extends Record<string, unknown>> {
  input: z.ZodType<T>;
  targets(input: T): readonly string[] | 'account';
  send(aws: AwsClients, region: string, input: Omit<T, 'Region'>): Promise<unknown>;
}
const allow = <T extends Record<string, unknown>>(allowed: Allowed<T>) => allowed as Allowed<never>;

/*
 * The only calls `incidents undo` replays: exactly the undo calls the rules record (a test walks
 * shared/rules and shared/ssh and fails on one missing here; self-protection's are never replayed).
 * An input comes from the incidents table, which every function role can write, so a call off this
 * list, with another shape, or aimed at another resource is refused before any call runs.
 */
const ALLOWED: Readonly<Record<string, Allowed<never>>> = {
  'ec2:DisableEbsEncryptionByDefault': allow({
    input: withRegion({}),
    targets: () => 'account',
    send: (aws, region) => aws.ec2(region).send(new DisableEbsEncryptionByDefaultCommand({})),
  }),
  'ec2:ModifyEbsDefaultKmsKeyId': allow({
    input: withRegion({ KmsKeyId: id }),
    targets: () => 'account',
    send: (aws, region, input) => aws.ec2(region).send(new ModifyEbsDefaultKmsKeyIdCommand(input)),
  }),
  'ec2:ResetEbsDefaultKmsKeyId': allow({
    input: withRegion({}),
    targets: () => 'account',
    send: (aws, region) => aws.ec2(region).send(new ResetEbsDefaultKmsKeyIdCommand({})),
  }),
  'ec2:DeleteTags': allow({
    input: withRegion({
      Resources: one,
      Tags: z
        .array(z.strictObject({ Key: z.string().min(1).max(128), Value: z.string().max(256).optional() }))
        .min(1)
        .max(10),
    }),
    targets: (input) => input.Resources,
    send: (aws, region, input) => aws.ec2(region).send(new DeleteTagsCommand(input)),
  }),
  'ec2:StartInstances': allow({
    input: withRegion({ InstanceIds: one }),
    targets: (input) => input.InstanceIds,
    send: (aws, region, input) => aws.ec2(region).send(new StartInstancesCommand(input)),
  }),
  'ec2:StopInstances': allow({
    input: withRegion({ InstanceIds: one }),
    targets: (input) => input.InstanceIds,
    send: (aws, region, input) => aws.ec2(region).send(new StopInstancesCommand(input)),
  }),
  'ec2:ModifyInstancePlacement': allow({
    input: withRegion({ InstanceId: id, Tenancy: z.literal('default') }),
    targets: (input) => [input.InstanceId],
    send: (aws, region, input) => aws.ec2(region).send(new ModifyInstancePlacementCommand(input)),
  }),
  'ec2:AttachVolume': allow({
    input: withRegion({ VolumeId: id, InstanceId: id, Device: z.string().min(1).max(64) }),
    targets: (input) => [input.VolumeId, input.InstanceId],
    send: (aws, region, input) => aws.ec2(region).send(new AttachVolumeCommand(input)),
  }),
  'ec2:DetachVolume': allow({
    input: withRegion({ VolumeId: id, InstanceId: id }),
    targets: (input) => [input.VolumeId, input.InstanceId],
    send: (aws, region, input) => aws.ec2(region).send(new DetachVolumeCommand(input)),
  }),
  'ec2:CreateVolume': allow({
    input: withRegion({ SnapshotId: id, AvailabilityZone: z.string().min(1).max(64) }),
    targets: (input) => [input.SnapshotId],
    send: (aws, region, input) => aws.ec2(region).send(new CreateVolumeCommand(input)),
  }),
  'ec2:AuthorizeSecurityGroupIngress': allow({
    input: withRegion({ GroupId: id, IpPermissions: z.tuple([ipPermission]) }),
    targets: (input) => [input.GroupId],
    send: (aws, region, input) => aws.ec2(region).send(new AuthorizeSecurityGroupIngressCommand(input)),
  }),
  'iam:UpdateSSHPublicKey': allow({
    input: z.strictObject({ UserName: id, SSHPublicKeyId: id, Status: z.enum(['Active', 'Inactive']) }),
    targets: (input) => [input.UserName],
    send: (aws, _region, input) => aws.iam().send(new UpdateSSHPublicKeyCommand(input)),
  }),
  'cloudtrail:StopLogging': allow({
    input: withRegion({ Name: id }),
    targets: (input) => [input.Name],
    send: (aws, region, input) => aws.cloudtrail(region).send(new StopLoggingCommand(input)),
  }),
  'cloudtrail:UpdateTrail': allow({
    input: withRegion({
      Name: id,
      EnableLogFileValidation: z.boolean().optional(),
      IsMultiRegionTrail: z.boolean().optional(),
    }),
    targets: (input) => [input.Name],
    send: (aws, region, input) => aws.cloudtrail(region).send(new UpdateTrailCommand(input)),
  }),
  'config:StopConfigurationRecorder': allow({
    input: withRegion({ ConfigurationRecorderName: id }),
    targets: (input) => [input.ConfigurationRecorderName],
    send: (aws, region, input) => aws.config(region).send(new StopConfigurationRecorderCommand(input)),
  }),
};

/** The service:action pairs `incidents undo` may replay. */
export const REPLAYABLE = Object.freeze(Object.keys(ALLOWED));

/**
 * The ids that are the incident's own resource: its id and ARN, and what the incident records of
 * it (an in-use volume's instance, the snapshot and encrypted replacement a swap made).
 */
function ownIds(incident: Incident): Set<string> {
  const recorded = [
    incident.evidence?.attachedTo,
    incident.workflow?.state?.instanceId,
    ...incident.steps.flatMap((step) => [step.output?.snapshotId, step.output?.replacementVolumeId]),
  ];
  return new Set([
    incident.resourceId,
    incident.resourceArn,
    ...recorded.filter((value): value is string => typeof value === 'string' && value !== ''),
  ]);
}

/** An undo call ready to run: the region it runs in and how. */
export interface PlannedCall {
  call: UndoCall;
  region: string;
  run(aws: AwsClients): Promise<unknown>;
}

/**
 * Where and how an undo call of this incident runs, or why it is refused: not on the allow-list,
 * an input of another shape, another region, or aimed at something that is not the incident's.
 * IAM is global (us-east-1); every other call runs in the incident's region.
 */
export function planCall(call: UndoCall, incident: Incident): PlannedCall | { refused: string } {
  const name = `${call.service} ${call.action}`;
  const allowed = ALLOWED[`${call.service}:${call.action}`];
  if (!allowed) return { refused: `${name}: not a call this command replays` };
  const parsed = allowed.input.safeParse(call.input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { refused: `${name}: unexpected input (${issue?.path.join('.') || 'input'}: ${issue?.message})` };
  }
  const { Region: named, ...input } = parsed.data as Record<string, unknown>;
  if (named !== undefined && named !== incident.region) {
    return { refused: `${name}: runs in ${String(named)}, not in the incident's region ${incident.region}` };
  }
  const targets = allowed.targets(parsed.data);
  if (targets === 'account' && incident.resourceId !== incident.account) {
    return { refused: `${name}: an account-level call, and ${incident.resourceId} is not the account` };
  }
  const own = ownIds(incident);
  const foreign = targets === 'account' ? [] : targets.filter((target) => !own.has(target));
  if (foreign.length > 0) {
    return { refused: `${name}: targets ${foreign.join(', ')}, not ${incident.resourceId}` };
  }
  const region = call.service === 'iam' ? IAM_REGION : incident.region;
  return { call, region, run: (aws) => allowed.send(aws, region, input as never) };
}
