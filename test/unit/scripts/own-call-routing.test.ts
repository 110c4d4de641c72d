import { eventPatterns, roleName } from '../../../scripts/lib/deployment';
import { rules } from '../../../shared/rules';
import { selfProtection } from '../../../shared/rules/self-protection';

interface CallPattern {
  source: string[];
  detail: {
    eventSource: string[];
    eventName: string[];
    userIdentity?: { sessionContext: { sessionIssuer: { arn: unknown[] } } };
    requestParameters?: unknown;
  };
}

const ownCallPatterns = (patterns: unknown[]) =>
  (patterns as CallPattern[]).filter((pattern) => pattern.detail?.userIdentity);

describe("routing the responder's own calls (Rule.ownCalls)", () => {
  it('routes self-protection each own call, one pattern per service, only when a rule role made it', () => {
    // Act
    const patterns = ownCallPatterns(eventPatterns(selfProtection, rules));
    // Assess
    const everyRuleRole = rules.map((rule) => ({ 'Fn::GetAtt': [roleName(rule), 'Arn'] }));
    expect(
      patterns.map(({ source, detail }) => [
        source,
        detail.eventSource,
        detail.eventName,
        detail.requestParameters,
      ]),
    ).toEqual([
      [['aws.cloudtrail'], ['cloudtrail.amazonaws.com'], ['UpdateTrail'], undefined],
      [['aws.iam'], ['iam.amazonaws.com'], ['UpdateSSHPublicKey'], undefined],
      [['aws.dynamodb'], ['dynamodb.amazonaws.com'], ['UpdateTable'], undefined],
    ]);
    for (const pattern of patterns) {
      expect(pattern.detail.userIdentity?.sessionContext.sessionIssuer.arn).toEqual(everyRuleRole);
    }
  });

  it("fits EventBridge's default pattern size (2048 characters) with every role ARN at IAM's longest name", () => {
    // Prepare: a role name is at most 64 characters; the account id 12
    const longestRole = `"arn:aws-us-gov:iam::123456789012:role/${'r'.repeat(64)}"`;
    // Act
    const sizes = ownCallPatterns(eventPatterns(selfProtection, rules)).map(
      (pattern) => JSON.stringify(pattern).replace(/\{"Fn::GetAtt":\["\w+","Arn"\]\}/g, longestRole).length,
    );
    // Assess: a registry that outgrows it must route own calls another way (or ask AWS for 4096)
    expect(sizes.length).toBeGreaterThan(0);
    for (const size of sizes) expect(size).toBeLessThan(2048);
  });

  it('routes no rule but the one that declares them any call by actor', () => {
    // Act
    const declaring = rules.filter((rule) => ownCallPatterns(eventPatterns(rule, rules)).length > 0);
    // Assess
    expect(declaring.map((rule) => rule.id)).toEqual(['self-protection']);
  });
});
