import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import {
  CreateUserCommand,
  IAMClient,
  ListSSHPublicKeysCommand,
  UpdateSSHPublicKeyCommand,
  UploadSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cloudTrailEvent, humanCaller } from '../../scripts/lib/events';
import { DynamoDbGrantLedger, type Grant, GrantKind, newGrantId } from '../../shared/ssh/grant-ledger';

/** Fixtures for the SSH rules and the ssh commands: security groups, IAM keys and ledger grants in moto. */

export const ACCOUNT = '123456789012';
export const GRANT_TAG = 'compliance-responder:ssh-grant';

/** A real (throwaway) public key: moto fingerprints what it is given. */
export const PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBtcNHbu/uXRB4KiYYgZ3lbCVGXw0m/lNmTs/yAbdXsz compliance-responder-test';

const ec2 = (region: string) => new EC2Client({ region });
const iam = () => new IAMClient({ region: 'us-east-1' });

export async function createGroup(region: string, name: string, description = name): Promise<string> {
  const created = await ec2(region).send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: description }),
  );
  return String(created.GroupId);
}

export async function authorize(
  region: string,
  groupId: string,
  permissions: IpPermission[],
  tags: Record<string, string> = {},
): Promise<string[]> {
  const tagged = Object.keys(tags).length > 0;
  const result = await ec2(region).send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: permissions,
      ...(tagged
        ? {
            TagSpecifications: [
              {
                ResourceType: 'security-group-rule',
                Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
              },
            ],
          }
        : {}),
    }),
  );
  return (result.SecurityGroupRules ?? []).map((rule) => String(rule.SecurityGroupRuleId));
}

export const ssh = (cidr: string, description?: string): IpPermission =>
  cidr.includes(':')
    ? {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }],
      }
    : { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: cidr, Description: description }] };

export async function ingressRules(region: string, groupId: string): Promise<SecurityGroupRule[]> {
  const result = await ec2(region).send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
  );
  return (result.SecurityGroupRules ?? []).filter((rule) => rule.IsEgress !== true);
}

/** The shape of a rule without its id, to compare a restored rule with the original. */
export const ruleShape = (rule: SecurityGroupRule) => ({
  IpProtocol: rule.IpProtocol,
  FromPort: rule.FromPort,
  ToPort: rule.ToPort,
  CidrIpv4: rule.CidrIpv4,
  CidrIpv6: rule.CidrIpv6,
  PrefixListId: rule.PrefixListId,
  Description: rule.Description,
});

export function authorizeCall(region: string, groupId: string, caller = humanCaller(ACCOUNT)) {
  return cloudTrailEvent({
    eventName: 'AuthorizeSecurityGroupIngress',
    eventSource: 'ec2.amazonaws.com',
    region,
    caller,
    requestParameters: { groupId, ipPermissions: { items: [] } },
    responseElements: { _return: true },
  });
}

/** An IAM user with one SSH key in the given status; returns the key id. */
export async function userWithKey(userName: string, status: 'Active' | 'Inactive'): Promise<string> {
  await iam().send(new CreateUserCommand({ UserName: userName }));
  const uploaded = await iam().send(
    new UploadSSHPublicKeyCommand({ UserName: userName, SSHPublicKeyBody: PUBLIC_KEY }),
  );
  const keyId = String(uploaded.SSHPublicKey?.SSHPublicKeyId);
  if (status === 'Inactive') {
    await iam().send(
      new UpdateSSHPublicKeyCommand({ UserName: userName, SSHPublicKeyId: keyId, Status: 'Inactive' }),
    );
  }
  return keyId;
}

export async function keyStatuses(userName: string): Promise<string[]> {
  const keys = await iam().send(new ListSSHPublicKeysCommand({ UserName: userName }));
  return (keys.SSHPublicKeys ?? []).map((key) => String(key.Status));
}

export function uploadKeyCall(userName: string, keyId: string) {
  return cloudTrailEvent({
    eventName: 'UploadSSHPublicKey',
    eventSource: 'iam.amazonaws.com',
    region: 'us-east-1',
    caller: humanCaller(ACCOUNT),
    requestParameters: { userName, sSHPublicKeyBody: 'ssh-ed25519 AAAA...' },
    responseElements: { sSHPublicKey: { userName, sSHPublicKeyId: keyId, status: 'Active' } },
  });
}

export const ledgerOf = (tableName: string) =>
  new DynamoDbGrantLedger(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    tableName,
    2192,
  );

/** A grant as the command line records it, ending `endsInMs` from now (negative: already ended). */
export function aGrant(
  target:
    | { userName: string }
    | { region: string; groupId: string; cidr: string; port: number; ruleId?: string },
  endsInMs: number,
): Grant {
  const now = new Date();
  const common = {
    grantId: newGrantId(now),
    grantedBy: `arn:aws:iam::${ACCOUNT}:user/oncall-bob`,
    reason: 'INC-7 restart the billing worker',
    createdAt: new Date(now.getTime() - 60_000).toISOString(),
    expiresAt: new Date(now.getTime() + endsInMs).toISOString(),
  };
  return 'userName' in target
    ? { ...common, kind: GrantKind.IamSshKey, target, grantedTo: target.userName }
    : { ...common, kind: GrantKind.SecurityGroupRule, target, grantedTo: 'dev-alice' };
}
