/**
 * The role each rule's function assumes in a member account of an organisation deployment
 * (docs/organisation.md). Its name is fixed, so the security account's function can build its ARN
 * from the account an event names; the member stack creates it (scripts/lib/member.ts).
 */

/** IAM's limit on role names. */
const MAX_ROLE_NAME = 64;

/** `<home stack>-member-<rule id>`: e.g. compliance-responder-prod-member-ssh-open-to-world. */
export function memberRoleName(homeStackName: string, ruleId: string): string {
  const name = `${homeStackName}-member-${ruleId}`;
  if (name.length > MAX_ROLE_NAME) {
    throw new Error(
      `member role name ${name} exceeds IAM's ${MAX_ROLE_NAME} characters: use a shorter stage`,
    );
  }
  return name;
}
