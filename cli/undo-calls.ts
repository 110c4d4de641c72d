import { StopLoggingCommand, UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { StopConfigurationRecorderCommand } from '@aws-sdk/client-config-service';
import { UpdateTableCommand } from '@aws-sdk/client-dynamodb';
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
import { DisableRuleCommand } from '@aws-sdk/client-eventbridge';
import { UpdateSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { DisableKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import type { AwsClients } from '../shared/aws/clients';
import type { UndoCall } from '../shared/model';
import { IAM_REGION } from '../shared/ssh/iam-keys';

/** Sends one undo call's input (without its Region) through the client of the region it names. */
type Replay = (aws: AwsClients, region: string, input: Record<string, unknown>) => Promise<unknown>;

/*
 * The only calls `incidents undo` replays: exactly the undo calls the rules record (a test walks
 * shared/rules and shared/ssh and fails on one missing here). An input comes from the incidents
 * table, so anything else (a typo, a tampered record) is refused before any call runs.
 * `as never`: the input was built by the rule for this very command; the SDK validates it again.
 */
const REPLAYS: Readonly<Record<string, Replay>> = {
  'ec2:DisableEbsEncryptionByDefault': (aws, region, input) =>
    aws.ec2(region).send(new DisableEbsEncryptionByDefaultCommand(input as never)),
  'ec2:ModifyEbsDefaultKmsKeyId': (aws, region, input) =>
    aws.ec2(region).send(new ModifyEbsDefaultKmsKeyIdCommand(input as never)),
  'ec2:ResetEbsDefaultKmsKeyId': (aws, region, input) =>
    aws.ec2(region).send(new ResetEbsDefaultKmsKeyIdCommand(input as never)),
  'ec2:DeleteTags': (aws, region, input) => aws.ec2(region).send(new DeleteTagsCommand(input as never)),
  'ec2:StartInstances': (aws, region, input) =>
    aws.ec2(region).send(new StartInstancesCommand(input as never)),
  'ec2:StopInstances': (aws, region, input) => aws.ec2(region).send(new StopInstancesCommand(input as never)),
  'ec2:ModifyInstancePlacement': (aws, region, input) =>
    aws.ec2(region).send(new ModifyInstancePlacementCommand(input as never)),
  'ec2:AttachVolume': (aws, region, input) => aws.ec2(region).send(new AttachVolumeCommand(input as never)),
  'ec2:DetachVolume': (aws, region, input) => aws.ec2(region).send(new DetachVolumeCommand(input as never)),
  'ec2:CreateVolume': (aws, region, input) => aws.ec2(region).send(new CreateVolumeCommand(input as never)),
  'ec2:AuthorizeSecurityGroupIngress': (aws, region, input) =>
    aws.ec2(region).send(new AuthorizeSecurityGroupIngressCommand(input as never)),
  'iam:UpdateSSHPublicKey': (aws, _region, input) =>
    aws.iam().send(new UpdateSSHPublicKeyCommand(input as never)),
  'cloudtrail:StopLogging': (aws, region, input) =>
    aws.cloudtrail(region).send(new StopLoggingCommand(input as never)),
  'cloudtrail:UpdateTrail': (aws, region, input) =>
    aws.cloudtrail(region).send(new UpdateTrailCommand(input as never)),
  'config:StopConfigurationRecorder': (aws, region, input) =>
    aws.config(region).send(new StopConfigurationRecorderCommand(input as never)),
  'events:DisableRule': (aws, region, input) =>
    aws.events(region).send(new DisableRuleCommand(input as never)),
  'lambda:PutFunctionConcurrency': (aws, region, input) =>
    aws.lambda(region).send(new PutFunctionConcurrencyCommand(input as never)),
  'dynamodb:UpdateTable': (aws, region, input) =>
    aws.dynamodbControl(region).send(new UpdateTableCommand(input as never)),
  'kms:ScheduleKeyDeletion': (aws, region, input) =>
    aws.kms(region).send(new ScheduleKeyDeletionCommand(input as never)),
  'kms:DisableKey': (aws, region, input) => aws.kms(region).send(new DisableKeyCommand(input as never)),
};

/** The service:action pairs `incidents undo` may replay. */
export const REPLAYABLE = Object.freeze(Object.keys(REPLAYS));

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** An undo call ready to run: the region it runs in and the API input without the rule's Region key. */
export interface PlannedCall {
  call: UndoCall;
  region: string;
  run(aws: AwsClients): Promise<unknown>;
}

/**
 * Where and how an undo call runs, or undefined when it is not on the allow-list. The rules put the
 * region an undo belongs to in `input.Region` (IAM is global: us-east-1); the incident's region
 * stands in when it is absent.
 */
export function planCall(call: UndoCall, incidentRegion: string): PlannedCall | undefined {
  const replay = REPLAYS[`${call.service}:${call.action}`];
  if (!replay) return undefined;
  const { Region: named, ...input } = call.input;
  const region =
    call.service === 'iam'
      ? IAM_REGION
      : typeof named === 'string' && REGION.test(named)
        ? named
        : incidentRegion;
  return { call, region, run: (aws) => replay(aws, region, input) };
}
