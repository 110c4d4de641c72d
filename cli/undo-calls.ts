import {
  GetTrailCommand,
  GetTrailStatusCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  DescribeConfigurationRecorderStatusCommand,
  StopConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import {
  AttachVolumeCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateVolumeCommand,
  DeleteTagsCommand,
  DetachVolumeCommand,
  DisableEbsEncryptionByDefaultCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyEbsDefaultKmsKeyIdCommand,
  ModifyInstancePlacementCommand,
  ResetEbsDefaultKmsKeyIdCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeRepositoriesCommand, PutImageTagMutabilityCommand } from '@aws-sdk/client-ecr';
import {
  DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand,
  SetLoadBalancerPoliciesOfListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { isAwsError } from '../shared/aws/aws-errors';
import type { AwsClients } from '../shared/aws/clients';
import type { Incident, Step, UndoCall } from '../shared/model';
import { loadBalancerArnOf } from '../shared/resources/load-balancer';
import type { Rule } from '../shared/rules/rule';
import { IAM_REGION, readUserKeys } from '../shared/ssh/iam-keys';
import * as z from '../shared/zod';
import {
  type CheckContext,
  copyOf,
  existing,
  howInstanceHolds,
  readInstance,
  readSnapshot,
  readVolume,
  UndoRefused,
} from './undo-checks';
import { checkRestoredPath, restoredPathRefusal } from './undo-ssh';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const id = z.string().check(z.minLength(1), z.maxLength(2048));
const one = z.tuple([id]);
const withRegion = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject({ ...shape, Region: z.optional(z.string().check(z.regex(REGION))) });

const description = { Description: z.optional(z.string().check(z.maxLength(255))) };
/** The one permission shared/ssh/exposure.ts toIpPermission builds for a revoked rule. */
const ipPermission = z.strictObject({
  IpProtocol: z.string().check(z.minLength(1), z.maxLength(16)),
  FromPort: z.optional(z.number().check(z.int())),
  ToPort: z.optional(z.number().check(z.int())),
  IpRanges: z.optional(z.tuple([z.strictObject({ CidrIp: id, ...description })])),
  Ipv6Ranges: z.optional(z.tuple([z.strictObject({ CidrIpv6: id, ...description })])),
  PrefixListIds: z.optional(z.tuple([z.strictObject({ PrefixListId: id, ...description })])),
  UserIdGroupPairs: z.optional(
    z.tuple([z.strictObject({ GroupId: id, UserId: z.optional(id), ...description })]),
  ),
});

/** The tag keys the responder sets (and only those may an undo remove). */
const RESPONDER_TAG = /^compliance-responder:/;

/**
 * One call `incidents undo` may replay: the exact input the rules record (no other key), the step
 * it reverses, the ids in it that must belong to the incident (`'account'`: an account-level call,
 * only for an incident whose resource is the account), why it would restore more than the step
 * recorded as removed (from the record, before any read), what AWS shows now (read before asking;
 * throws UndoRefused), and how it is sent, without its Region.
 */
interface Allowed<T extends Record<string, unknown>> {
  input: z.ZodMiniType<T>;
  reverses: readonly string[];
  targets(input: T): readonly string[] | 'account';
  restoresMore?(input: T, step: Step, incident: Incident): string | undefined;
  check(input: T, at: CheckContext): Promise<string>;
  send(aws: AwsClients, region: string, input: Omit<T, 'Region'>): Promise<unknown>;
}
const allow = <T extends Record<string, unknown>>(allowed: Allowed<T>) => allowed as Allowed<never>;

/** An instance an undo may start or stop: the incident's own, or (a volume's) the one holding it or its copy. */
async function checkInstance(instanceId: string, at: CheckContext): Promise<string> {
  const ec2 = at.aws.ec2(at.region);
  const instance = existing(await readInstance(ec2, instanceId), instanceId, at);
  const state = `${instanceId} is ${instance.State?.Name ?? 'in an unknown state'}`;
  const { incident } = at;
  if (incident.resourceId === instanceId) return state;
  const holds = await howInstanceHolds(ec2, instance, incident.resourceId, incident.account);
  if (!holds) throw new UndoRefused(`${instanceId} holds no copy of ${incident.resourceId}`);
  return `${state} and ${holds}`;
}

const trailName = (incident: Incident) => incident.resourceId;

/** The incident's trail in its home region, now. */
async function checkTrail(at: CheckContext): Promise<string> {
  const cloudtrail = at.aws.cloudtrail(at.region);
  const name = trailName(at.incident);
  const trail = existing(
    await cloudtrail
      .send(new GetTrailCommand({ Name: name }))
      .then((result) => result.Trail)
      .catch((error: unknown) => {
        if (isAwsError(error, 'TrailNotFoundException')) return undefined;
        throw error;
      }),
    `trail ${name}`,
    at,
  );
  if (trail.HomeRegion && trail.HomeRegion !== at.region) {
    throw new UndoRefused(`trail ${name}'s home region is ${trail.HomeRegion}, not ${at.region}`);
  }
  const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: name }));
  return `trail ${name} in ${at.region} is ${status.IsLogging ? 'logging' : 'not logging'}, log file validation ${
    trail.LogFileValidationEnabled ? 'on' : 'off'
  }, ${trail.IsMultiRegionTrail ? 'multi-region' : 'one region'}`;
}

/** A listener default action as elb-listener-tls records it (authenticate actions it never rewrites). */
const shortText = z.optional(z.string().check(z.maxLength(128)));
const listenerAction = z.strictObject({
  Type: z.enum(['forward', 'redirect', 'fixed-response']),
  Order: z.optional(z.number().check(z.int())),
  TargetGroupArn: z.optional(id),
  ForwardConfig: z.optional(
    z.strictObject({
      TargetGroups: z.optional(
        z
          .array(z.strictObject({ TargetGroupArn: id, Weight: z.optional(z.number().check(z.int())) }))
          .check(z.maxLength(5)),
      ),
      TargetGroupStickinessConfig: z.optional(
        z.strictObject({
          Enabled: z.optional(z.boolean()),
          DurationSeconds: z.optional(z.number().check(z.int())),
        }),
      ),
    }),
  ),
  RedirectConfig: z.optional(
    z.strictObject({
      Protocol: shortText,
      Port: shortText,
      Host: shortText,
      Path: shortText,
      Query: shortText,
      StatusCode: z.enum(['HTTP_301', 'HTTP_302']),
    }),
  ),
  FixedResponseConfig: z.optional(
    z.strictObject({
      MessageBody: z.optional(z.string().check(z.maxLength(1024))),
      StatusCode: id,
      ContentType: shortText,
    }),
  ),
});

/** The incident's load balancer's listener, now. */
async function checkListener(listenerArn: string, at: CheckContext): Promise<string> {
  const listener = existing(
    await at.aws
      .elbv2(at.region)
      .send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }))
      .then((result) => result.Listeners?.[0])
      .catch((error: unknown) => {
        if (isAwsError(error, 'ListenerNotFoundException', 'ListenerNotFound')) return undefined;
        throw error;
      }),
    `listener ${listenerArn}`,
    at,
  );
  return `listener ${listener.Protocol}:${listener.Port} uses ${listener.SslPolicy ?? 'no TLS policy'}, default action ${listener.DefaultActions?.map((action) => action.Type).join(', ')}`;
}

/** The incident's Classic Load Balancer's listener on a port, now, and the policies it has. */
async function checkClassicListener(name: string, port: number, at: CheckContext): Promise<string> {
  const loadBalancer = existing(
    await at.aws
      .elb(at.region)
      .send(new DescribeClassicLoadBalancersCommand({ LoadBalancerNames: [name] }))
      .then((result) => result.LoadBalancerDescriptions?.[0])
      .catch((error: unknown) => {
        if (isAwsError(error, 'AccessPointNotFoundException', 'LoadBalancerNotFound')) return undefined;
        throw error;
      }),
    `Classic Load Balancer ${name}`,
    at,
  );
  const listener = existing(
    loadBalancer.ListenerDescriptions?.find((described) => described.Listener?.LoadBalancerPort === port),
    `listener ${name}:${port}`,
    at,
  );
  return `listener ${listener.Listener?.Protocol}:${port} of ${name} has policies ${JSON.stringify(listener.PolicyNames ?? [])}`;
}

/** What the incident's evidence said before the step: the undo may set back only what was so. */
const before = (incident: Incident, key: string) => incident.evidence?.[key];

/*
 * The only calls `incidents undo` replays: exactly the undo calls the rules record (a test walks
 * shared/rules and shared/ssh and fails on one missing here; self-protection's are never replayed).
 * An input comes from the incidents table, which every function role can write, so a call off this
 * list or its rule's, with another shape, undoing another step, aimed at another resource or
 * restoring more than its step removed, is refused before any call runs.
 */
const ALLOWED: Readonly<Record<string, Allowed<never>>> = {
  'ec2:DisableEbsEncryptionByDefault': allow({
    input: withRegion({}),
    reverses: ['EnableEbsEncryptionByDefault'],
    targets: () => 'account',
    async check(_input, at) {
      const now = await at.aws.ec2(at.region).send(new GetEbsEncryptionByDefaultCommand({}));
      return `EBS encryption by default is ${now.EbsEncryptionByDefault ? 'on' : 'off'} in ${at.region}`;
    },
    send: (aws, region) => aws.ec2(region).send(new DisableEbsEncryptionByDefaultCommand({})),
  }),
  'ec2:ModifyEbsDefaultKmsKeyId': allow({
    input: withRegion({ KmsKeyId: id }),
    reverses: ['ModifyEbsDefaultKmsKeyId'],
    targets: () => 'account',
    restoresMore: (input, _step, incident) =>
      input.KmsKeyId === before(incident, 'defaultKmsKeyId')
        ? undefined
        : `sets ${input.KmsKeyId}, but the default key before was ${String(before(incident, 'defaultKmsKeyId'))}`,
    async check(input, at) {
      const key = await at.aws
        .kms(at.region)
        .send(new DescribeKeyCommand({ KeyId: input.KmsKeyId }))
        .then((result) => result.KeyMetadata)
        .catch((error: unknown) => {
          if (isAwsError(error, 'NotFoundException')) return undefined;
          throw error;
        });
      const found = existing(key, `KMS key ${input.KmsKeyId}`, at);
      if (found.AWSAccountId !== at.incident.account) {
        throw new UndoRefused(`KMS key ${input.KmsKeyId} is account ${found.AWSAccountId}'s`);
      }
      return `KMS key ${found.KeyId} of account ${found.AWSAccountId} is ${found.KeyState}`;
    },
    send: (aws, region, input) => aws.ec2(region).send(new ModifyEbsDefaultKmsKeyIdCommand(input)),
  }),
  'ec2:ResetEbsDefaultKmsKeyId': allow({
    input: withRegion({}),
    reverses: ['ModifyEbsDefaultKmsKeyId'],
    targets: () => 'account',
    async check(_input, at) {
      const now = await at.aws.ec2(at.region).send(new GetEbsDefaultKmsKeyIdCommand({}));
      return `the default EBS key in ${at.region} is ${now.KmsKeyId ?? 'the AWS-managed key'}`;
    },
    send: (aws, region) => aws.ec2(region).send(new ResetEbsDefaultKmsKeyIdCommand({})),
  }),
  'ec2:DeleteTags': allow({
    input: withRegion({
      Resources: one,
      Tags: z
        .array(
          z.strictObject({
            Key: z.string().check(z.minLength(1), z.maxLength(128)),
            Value: z.optional(z.string().check(z.maxLength(256))),
          }),
        )
        .check(z.minLength(1), z.maxLength(10)),
    }),
    reverses: ['QuarantineOriginal', 'CreateTags'],
    targets: (input) => input.Resources,
    restoresMore(input) {
      const foreign = input.Tags.map((tag) => tag.Key).filter((key) => !RESPONDER_TAG.test(key));
      return foreign.length > 0
        ? `removes tag(s) ${foreign.join(', ')}, which the responder never sets`
        : undefined;
    },
    async check(input, at) {
      const [resourceId] = input.Resources;
      const ec2 = at.aws.ec2(at.region);
      const read = resourceId.startsWith('vol-')
        ? readVolume(ec2, resourceId)
        : readInstance(ec2, resourceId);
      existing(await read, resourceId, at);
      return `${resourceId} exists in ${at.region}`;
    },
    send: (aws, region, input) => aws.ec2(region).send(new DeleteTagsCommand(input)),
  }),
  'ecr:PutImageTagMutability': allow({
    input: withRegion({
      repositoryName: id,
      imageTagMutability: z.enum([
        'MUTABLE',
        'MUTABLE_WITH_EXCLUSION',
        'IMMUTABLE',
        'IMMUTABLE_WITH_EXCLUSION',
      ]),
      imageTagMutabilityExclusionFilters: z.optional(
        z
          .array(
            z.strictObject({
              filter: z.string().check(z.minLength(1), z.maxLength(128)),
              filterType: z.literal('WILDCARD'),
            }),
          )
          .check(z.minLength(1), z.maxLength(5)),
      ),
    }),
    reverses: ['PutImageTagMutability'],
    targets: (input) => [input.repositoryName],
    // Back to exactly what the evidence says the repository had: never wider exclusions than that.
    restoresMore(input, _step, incident) {
      const exclusions = (input.imageTagMutabilityExclusionFilters ?? [])
        .map((filter) => filter.filter)
        .join(',');
      const was = `${String(before(incident, 'tagMutability'))} [${String(before(incident, 'tagExclusions') ?? '')}]`;
      const sets = `${input.imageTagMutability} [${exclusions}]`;
      return sets === was ? undefined : `sets ${sets}, but the repository had ${was}`;
    },
    async check(input, at) {
      const found = await at.aws
        .ecr(at.region)
        .send(new DescribeRepositoriesCommand({ repositoryNames: [input.repositoryName] }))
        .then((result) => result.repositories?.[0])
        .catch((error: unknown) => {
          if (isAwsError(error, 'RepositoryNotFoundException')) return undefined;
          throw error;
        });
      const repository = existing(found, `repository ${input.repositoryName}`, at);
      return `repository ${input.repositoryName} has ${repository.imageTagMutability ?? 'unknown'} tags`;
    },
    send: (aws, region, input) => aws.ecr(region).send(new PutImageTagMutabilityCommand(input)),
  }),
  'ec2:StartInstances': allow({
    input: withRegion({ InstanceIds: one }),
    reverses: ['StopInstances'],
    targets: (input) => input.InstanceIds,
    check: (input, at) => checkInstance(input.InstanceIds[0], at),
    send: (aws, region, input) => aws.ec2(region).send(new StartInstancesCommand(input)),
  }),
  'ec2:StopInstances': allow({
    input: withRegion({ InstanceIds: one }),
    reverses: ['StartInstances'],
    targets: (input) => input.InstanceIds,
    check: (input, at) => checkInstance(input.InstanceIds[0], at),
    send: (aws, region, input) => aws.ec2(region).send(new StopInstancesCommand(input)),
  }),
  'ec2:ModifyInstancePlacement': allow({
    input: withRegion({ InstanceId: id, Tenancy: z.literal('default') }),
    reverses: ['ModifyInstancePlacement'],
    targets: (input) => [input.InstanceId],
    check: (input, at) => checkInstance(input.InstanceId, at),
    send: (aws, region, input) => aws.ec2(region).send(new ModifyInstancePlacementCommand(input)),
  }),
  'ec2:AttachVolume': allow({
    input: withRegion({
      VolumeId: id,
      InstanceId: id,
      Device: z.string().check(z.minLength(1), z.maxLength(64)),
    }),
    reverses: ['DetachOriginal'],
    targets: (input) => [input.VolumeId, input.InstanceId],
    restoresMore: (input, _step, incident) =>
      input.VolumeId === incident.resourceId
        ? undefined
        : `attaches ${input.VolumeId}, not ${incident.resourceId}`,
    // The original goes back only where the responder put its encrypted copy in its place.
    async check(input, at) {
      const ec2 = at.aws.ec2(at.region);
      const original = existing(await readVolume(ec2, input.VolumeId), input.VolumeId, at);
      if (original.State !== 'available') {
        throw new UndoRefused(`${input.VolumeId} is ${original.State}, not detached`);
      }
      const instance = existing(await readInstance(ec2, input.InstanceId), input.InstanceId, at);
      const mapped = instance.BlockDeviceMappings?.find((mapping) => mapping.DeviceName === input.Device);
      const copy = mapped?.Ebs?.VolumeId ? await readVolume(ec2, mapped.Ebs.VolumeId) : undefined;
      const snapshot = copy && (await copyOf(ec2, copy, input.VolumeId, at.incident.account));
      if (!snapshot) {
        throw new UndoRefused(
          `${input.InstanceId} holds no copy of ${input.VolumeId} at ${input.Device}: nothing in AWS shows ${input.VolumeId} was attached there`,
        );
      }
      return `${input.VolumeId} is detached; ${input.InstanceId} holds ${copy.VolumeId} at ${input.Device}, an encrypted copy of ${input.VolumeId} (from ${snapshot})`;
    },
    send: (aws, region, input) => aws.ec2(region).send(new AttachVolumeCommand(input)),
  }),
  'ec2:DetachVolume': allow({
    input: withRegion({ VolumeId: id, InstanceId: id }),
    reverses: ['AttachEncrypted'],
    targets: (input) => [input.VolumeId, input.InstanceId],
    restoresMore: (input, _step, incident) =>
      input.VolumeId === incident.resourceId
        ? `detaches ${input.VolumeId} itself, which the responder never attached`
        : undefined,
    // Only the responder's encrypted copy of the incident's volume is detached again.
    async check(input, at) {
      const ec2 = at.aws.ec2(at.region);
      const copy = existing(await readVolume(ec2, input.VolumeId), input.VolumeId, at);
      const attached = copy.Attachments?.some((attachment) => attachment.InstanceId === input.InstanceId);
      const snapshot = await copyOf(ec2, copy, at.incident.resourceId, at.incident.account);
      if (!attached || !snapshot) {
        throw new UndoRefused(
          `${input.VolumeId} is not an encrypted copy of ${at.incident.resourceId} attached to ${input.InstanceId}`,
        );
      }
      return `${input.VolumeId} is attached to ${input.InstanceId}, an encrypted copy of ${at.incident.resourceId} (from ${snapshot})`;
    },
    send: (aws, region, input) => aws.ec2(region).send(new DetachVolumeCommand(input)),
  }),
  'ec2:CreateVolume': allow({
    input: withRegion({
      SnapshotId: id,
      AvailabilityZone: z.string().check(z.minLength(1), z.maxLength(64)),
    }),
    reverses: ['DeleteOriginalVolume'],
    targets: (input) => [input.SnapshotId],
    // A deleted original comes back once, from the responder's snapshot of it, where it was.
    async check(input, at) {
      const ec2 = at.aws.ec2(at.region);
      const { resourceId, account } = at.incident;
      const snapshot = existing(await readSnapshot(ec2, input.SnapshotId), input.SnapshotId, at);
      if (snapshot.VolumeId !== resourceId || snapshot.OwnerId !== account) {
        throw new UndoRefused(`${input.SnapshotId} is not account ${account}'s snapshot of ${resourceId}`);
      }
      if (!input.AvailabilityZone.startsWith(at.region)) {
        throw new UndoRefused(`${input.AvailabilityZone} is not in ${at.region}`);
      }
      if (await readVolume(ec2, resourceId)) {
        throw new UndoRefused(`${resourceId} still exists: there is nothing deleted to restore`);
      }
      return `${resourceId} is deleted; ${input.SnapshotId} is this account's snapshot of it`;
    },
    send: (aws, region, input) => aws.ec2(region).send(new CreateVolumeCommand(input)),
  }),
  'ec2:AuthorizeSecurityGroupIngress': allow({
    input: withRegion({ GroupId: id, IpPermissions: z.tuple([ipPermission]) }),
    reverses: ['RevokeSecurityGroupIngress'],
    targets: (input) => [input.GroupId],
    restoresMore: (input, step, incident) =>
      restoredPathRefusal(input.GroupId, input.IpPermissions[0], step, incident),
    check: (input, at) => checkRestoredPath(input.GroupId, input.IpPermissions[0], at),
    send: (aws, region, input) => aws.ec2(region).send(new AuthorizeSecurityGroupIngressCommand(input)),
  }),
  'iam:UpdateSSHPublicKey': allow({
    input: z.strictObject({ UserName: id, SSHPublicKeyId: id, Status: z.enum(['Active', 'Inactive']) }),
    reverses: ['UpdateSSHPublicKey'],
    targets: (input) => [input.UserName],
    restoresMore(input, step) {
      if (step.output?.sshPublicKeyId !== input.SSHPublicKeyId || step.output?.status === input.Status) {
        return `sets key ${input.SSHPublicKeyId} ${input.Status}, but the step set key ${String(step.output?.sshPublicKeyId)} ${String(step.output?.status)}`;
      }
      return undefined;
    },
    async check(input, at) {
      const user = existing(
        await readUserKeys(at.aws.iam(), input.UserName),
        `IAM user ${input.UserName}`,
        at,
      );
      const key = user.keys.find((candidate) => candidate.keyId === input.SSHPublicKeyId);
      if (!key) throw new UndoRefused(`${input.UserName} holds no SSH key ${input.SSHPublicKeyId}`);
      return `${input.UserName}'s SSH key ${key.keyId} is ${key.status}`;
    },
    send: (aws, _region, input) => aws.iam().send(new UpdateSSHPublicKeyCommand(input)),
  }),
  'elasticloadbalancing:ModifyListener': allow({
    input: withRegion({
      ListenerArn: id,
      SslPolicy: z.optional(z.string().check(z.regex(/^ELBSecurityPolicy-[\w-]{1,100}$/))),
      DefaultActions: z.optional(z.array(listenerAction).check(z.minLength(1), z.maxLength(5))),
    }),
    reverses: ['ModifyListener'],
    // A listener of the incident's load balancer: its ARN embeds the load balancer's.
    targets: (input) => [loadBalancerArnOf(input.ListenerArn) ?? input.ListenerArn],
    restoresMore(input, step) {
      if ((input.SslPolicy === undefined) === (input.DefaultActions === undefined)) {
        return 'restores either a policy or default actions, exactly one';
      }
      if (input.SslPolicy !== undefined && input.SslPolicy !== step.output?.previousSslPolicy) {
        return `sets ${input.SslPolicy}, and the step recorded replacing ${String(step.output?.previousSslPolicy)}`;
      }
      if (input.DefaultActions !== undefined && step.output?.redirectedTo === undefined) {
        return 'restores default actions, and the step made no redirect';
      }
      return undefined;
    },
    check: (input, at) => checkListener(input.ListenerArn, at),
    send: (aws, region, input) => aws.elbv2(region).send(new ModifyListenerCommand(input)),
  }),
  'elasticloadbalancing:SetLoadBalancerPoliciesOfListener': allow({
    input: withRegion({
      LoadBalancerName: z.string().check(z.regex(/^[a-zA-Z0-9-]{1,32}$/)),
      LoadBalancerPort: z.number().check(z.int(), z.minimum(1), z.maximum(65535)),
      PolicyNames: z.array(z.string().check(z.minLength(1), z.maxLength(255))).check(z.maxLength(20)),
    }),
    reverses: ['SetLoadBalancerPoliciesOfListener'],
    targets: (input) => [input.LoadBalancerName],
    // Exactly the list the step recorded replacing, on the port it changed: no policy more or less.
    restoresMore(input, step) {
      if (input.LoadBalancerPort !== step.output?.port) {
        return `sets listener ${input.LoadBalancerPort}, and the step changed ${String(step.output?.port)}`;
      }
      if (JSON.stringify(input.PolicyNames) !== step.output?.previousPolicyNames) {
        return `sets ${JSON.stringify(input.PolicyNames)}, and the step recorded replacing ${String(step.output?.previousPolicyNames)}`;
      }
      return undefined;
    },
    check: (input, at) => checkClassicListener(input.LoadBalancerName, input.LoadBalancerPort, at),
    send: (aws, region, input) => aws.elb(region).send(new SetLoadBalancerPoliciesOfListenerCommand(input)),
  }),
  'cloudtrail:StopLogging': allow({
    input: withRegion({ Name: id }),
    reverses: ['StartLogging'],
    targets: (input) => [input.Name],
    restoresMore: (_input, _step, incident) =>
      before(incident, 'isLogging') === false
        ? undefined
        : `the incident does not say ${trailName(incident)} was stopped before`,
    check: (_input, at) => checkTrail(at),
    send: (aws, region, input) => aws.cloudtrail(region).send(new StopLoggingCommand(input)),
  }),
  'cloudtrail:UpdateTrail': allow({
    input: withRegion({
      Name: id,
      EnableLogFileValidation: z.optional(z.literal(false)),
      IsMultiRegionTrail: z.optional(z.literal(false)),
    }),
    reverses: ['UpdateTrail'],
    targets: (input) => [input.Name],
    restoresMore(input, _step, incident) {
      const wider = [
        input.EnableLogFileValidation === false && before(incident, 'logFileValidation') !== false
          ? 'log file validation'
          : '',
        input.IsMultiRegionTrail === false && before(incident, 'multiRegion') !== false ? 'multi-region' : '',
      ].filter(Boolean);
      return wider.length > 0
        ? `turns off ${wider.join(' and ')}, which the incident says was on before`
        : undefined;
    },
    check: (_input, at) => checkTrail(at),
    send: (aws, region, input) => aws.cloudtrail(region).send(new UpdateTrailCommand(input)),
  }),
  'config:StopConfigurationRecorder': allow({
    input: withRegion({ ConfigurationRecorderName: id }),
    reverses: ['StartConfigurationRecorder'],
    targets: (input) => [input.ConfigurationRecorderName],
    async check(input, at) {
      const name = input.ConfigurationRecorderName;
      const statuses = await at.aws
        .config(at.region)
        .send(new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: [name] }))
        .then((result) => result.ConfigurationRecordersStatus ?? [])
        .catch((error: unknown) => {
          if (isAwsError(error, 'NoSuchConfigurationRecorderException')) return [];
          throw error;
        });
      const status = existing(statuses[0], `configuration recorder ${name}`, at);
      return `configuration recorder ${name} in ${at.region} is ${status.recording ? 'recording' : 'stopped'}`;
    },
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

/** An undo call ready to check and run: the step it reverses, the region it runs in, and how. */
export interface PlannedCall {
  call: UndoCall;
  /** The index of the step it reverses in incident.steps. */
  step: number;
  region: string;
  /** Reads AWS now: what it found, in a few words; throws UndoRefused when the call must not run. */
  check(at: Omit<CheckContext, 'region' | 'step' | 'stepNumber' | 'incident'>): Promise<string>;
  run(aws: AwsClients): Promise<unknown>;
}

/**
 * Where and how an undo call of this incident runs, or why it is refused, from the record alone:
 * not on the allow-list or not one of the incident's rule's undo actions, an input of another
 * shape, not the undo of its step, another region, aimed at something that is not the incident's,
 * or restoring more than the step recorded as removed. IAM is global (us-east-1); every other call
 * runs in the incident's region.
 */
export function planCall(
  call: UndoCall,
  step: number,
  incident: Incident,
  rule: Pick<Rule, 'id' | 'undoActions'>,
): PlannedCall | { refused: string } {
  const name = `${call.service} ${call.action}`;
  const key = `${call.service}:${call.action}`;
  const allowed = ALLOWED[key];
  if (!allowed) return { refused: `${name}: not a call this command replays` };
  if (!rule.undoActions?.includes(key)) return { refused: `${name}: not an undo of ${rule.id}` };
  const parsed = allowed.input.safeParse(call.input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { refused: `${name}: unexpected input (${issue?.path.join('.') || 'input'}: ${issue?.message})` };
  }
  const recorded = incident.steps[step];
  if (!recorded || !allowed.reverses.includes(recorded.action)) {
    return {
      refused: `${name} undoes ${allowed.reverses.join(' or ')}, and step ${step + 1} is ${recorded?.action}`,
    };
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
  const more = allowed.restoresMore?.(parsed.data, recorded, incident);
  if (more) return { refused: `${name}: ${more}` };
  const region = call.service === 'iam' ? IAM_REGION : incident.region;
  return {
    call,
    step,
    region,
    check: (at) =>
      allowed.check(parsed.data, { ...at, region, incident, step: recorded, stepNumber: step + 1 }),
    run: (aws) => allowed.send(aws, region, input as never),
  };
}
