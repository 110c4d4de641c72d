import {
  GetUserCommand,
  type IAMClient,
  paginateListSSHPublicKeys,
  paginateListUsers,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { isAwsError } from '../aws/aws-errors';
import { type CallShape, refuseOutsideShape } from '../aws/own-calls';
import { tagRecord } from '../aws/tags';
import { mapWithConcurrency } from '../concurrency';
import type { StepRecorder } from '../rules/rule';

/**
 * IAM users' SSH public keys. IAM is global: its API and its CloudTrail events live in us-east-1,
 * so the responder judges IAM keys there, and IAM grants are kept in that region's ledger.
 */
export { IAM_REGION } from '../aws/regions';
export { IAM_USER } from '../resources/iam-user';

export const KeyStatus = { Active: 'Active', Inactive: 'Inactive' } as const;
export type KeyStatus = (typeof KeyStatus)[keyof typeof KeyStatus];

export interface SshKey {
  readonly keyId: string;
  readonly status: KeyStatus;
  readonly uploadedAt?: string;
}

export interface IamUserKeys {
  readonly userName: string;
  readonly arn: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly keys: readonly SshKey[];
}

/** Users are read this many at a time: one ListSSHPublicKeys each, bounded so IAM does not throttle. */
const USER_CONCURRENCY = 8;

async function keysOf(iam: IAMClient, userName: string): Promise<SshKey[]> {
  const keys: SshKey[] = [];
  for await (const page of paginateListSSHPublicKeys({ client: iam }, { UserName: userName })) {
    for (const key of page.SSHPublicKeys ?? []) {
      keys.push({
        keyId: String(key.SSHPublicKeyId),
        status: key.Status === KeyStatus.Active ? KeyStatus.Active : KeyStatus.Inactive,
        uploadedAt: key.UploadDate?.toISOString(),
      });
    }
  }
  return keys;
}

/** One user and their SSH keys; undefined when the user no longer exists. Read-only. */
export async function readUserKeys(iam: IAMClient, userName: string): Promise<IamUserKeys | undefined> {
  try {
    const { User: user } = await iam.send(new GetUserCommand({ UserName: userName }));
    if (!user) return undefined;
    return { userName, arn: String(user.Arn), tags: tagRecord(user.Tags), keys: await keysOf(iam, userName) };
  } catch (error) {
    if (isAwsError(error, 'NoSuchEntityException', 'NoSuchEntity')) return undefined;
    throw error;
  }
}

/**
 * The verify read after a status change: the user's keys again, nothing else (one
 * ListSSHPublicKeys); undefined when the user no longer exists.
 */
export async function rereadKeys(iam: IAMClient, userName: string): Promise<SshKey[] | undefined> {
  try {
    return await keysOf(iam, userName);
  } catch (error) {
    if (isAwsError(error, 'NoSuchEntityException', 'NoSuchEntity')) return undefined;
    throw error;
  }
}

/** A user a resumed listing went by (listUserKeys' `passOverThrough`): its ARN only, no key read. */
export interface PassedOverUser {
  readonly arn: string;
  readonly passedOver: true;
}

/**
 * Every user of the account with their SSH keys. Tags (for exemptions) are read only for users
 * holding an Active key: the only users that can be in drift. A failed page throws. Given
 * `passOverThrough` (a user's ARN), the users up to and including that one are yielded unread, by
 * their ARN alone (an earlier sweep unit judged them); when no user has that ARN, every one is.
 */
export async function* listUserKeys(
  iam: IAMClient,
  passOverThrough?: string,
): AsyncIterable<IamUserKeys | PassedOverUser> {
  let passing = passOverThrough !== undefined;
  for await (const page of paginateListUsers({ client: iam }, {})) {
    const users = page.Users ?? [];
    let read = 0;
    while (passing && read < users.length) {
      const arn = String(users[read]?.Arn);
      read += 1;
      yield { arn, passedOver: true };
      if (arn === passOverThrough) passing = false;
    }
    // USER_CONCURRENCY users at a time, each batch yielded before the next is read: a sweep unit
    // that stops at its page's end reads at most a batch past it, not the rest of IAM's page.
    for (let from = read; from < users.length; from += USER_CONCURRENCY) {
      const batch = users.slice(from, from + USER_CONCURRENCY);
      yield* await mapWithConcurrency(batch, USER_CONCURRENCY, async (user) => {
        const userName = String(user.UserName);
        const keys = await keysOf(iam, userName);
        const holdsActiveKey = keys.some((key) => key.status === KeyStatus.Active);
        const tags = holdsActiveKey
          ? tagRecord((await iam.send(new GetUserCommand({ UserName: userName }))).User?.Tags)
          : {};
        return { userName, arn: String(user.Arn), tags, keys };
      });
    }
  }
}

/**
 * Sets one key's status as a recorded step whose undo sets it back. Never deletes a key. Given a
 * shape, a request outside it is refused before it is sent (the step records the refusal).
 */
export function setKeyStatus(
  iam: IAMClient,
  userName: string,
  keyId: string,
  status: KeyStatus,
  step: StepRecorder,
  shape?: CallShape,
): Promise<unknown> {
  const previous = status === KeyStatus.Active ? KeyStatus.Inactive : KeyStatus.Active;
  const input = { UserName: userName, SSHPublicKeyId: keyId, Status: status };
  return step(
    'UpdateSSHPublicKey',
    async () => {
      if (shape) refuseOutsideShape(shape, input);
      return iam.send(new UpdateSSHPublicKeyCommand(input));
    },
    {
      undo: {
        service: 'iam',
        action: 'UpdateSSHPublicKey',
        input: { UserName: userName, SSHPublicKeyId: keyId, Status: previous },
      },
      output: () => ({ sshPublicKeyId: keyId, status }),
    },
  );
}
