import { IAMClient, ListSSHPublicKeysCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { listUserKeys } from '../../../shared/ssh/iam-keys';

const ACCOUNT = '111122223333';
const iam = mockClient(IAMClient);
afterAll(() => iam.restore());

const names = Array.from({ length: 40 }, (_, index) => `user-${String(index).padStart(2, '0')}`);
const arnOf = (name: string) => `arn:aws:iam::${ACCOUNT}:user/${name}`;

describe("listing IAM users' SSH keys", () => {
  beforeEach(() => {
    iam.reset();
    // One page of 40 users (IAM's pages hold up to 100), none holding a key
    iam.on(ListUsersCommand).resolves({
      Users: names.map((name) => ({
        UserName: name,
        UserId: name,
        Arn: arnOf(name),
        Path: '/',
        CreateDate: new Date(),
      })),
    });
    iam.on(ListSSHPublicKeysCommand).resolves({ SSHPublicKeys: [] });
  });

  const keyReads = () => iam.commandCalls(ListSSHPublicKeysCommand).length;

  it('reads keys a few users at a time, so a reader that stops early reads at most one batch past it', async () => {
    // Act: a sweep unit whose page ends after 3 users (and one past it)
    const read: string[] = [];
    for await (const user of listUserKeys(new IAMClient({}))) {
      read.push(user.arn);
      if (read.length > 3) break;
    }
    // Assess: not the other 36 users of IAM's page
    expect(read).toHaveLength(4);
    expect(keyReads()).toBeLessThanOrEqual(8);
  });

  it('passes over the users up to its place by their ARN, reading no key of theirs', async () => {
    // Act
    const listed: { arn: string; passedOver?: true }[] = [];
    for await (const user of listUserKeys(new IAMClient({}), arnOf('user-29'))) {
      listed.push(user);
      if (listed.length > 32) break;
    }
    // Assess
    expect(listed.slice(0, 30).every((user) => 'passedOver' in user)).toBe(true);
    expect(listed.slice(30).map((user) => ['passedOver' in user, user.arn])).toEqual([
      [false, arnOf('user-30')],
      [false, arnOf('user-31')],
      [false, arnOf('user-32')],
    ]);
    expect(keyReads()).toBeLessThanOrEqual(8);
  });

  it('passes over every user when its place is gone (the caller then reads the listing whole)', async () => {
    // Act
    const listed: { arn: string; passedOver?: true }[] = [];
    for await (const user of listUserKeys(new IAMClient({}), arnOf('user-gone'))) listed.push(user);
    // Assess
    expect(listed).toHaveLength(40);
    expect(listed.every((user) => 'passedOver' in user)).toBe(true);
    expect(keyReads()).toBe(0);
  });
});
