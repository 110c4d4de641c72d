import {
  DescribeLoadBalancerPoliciesCommand,
  type ElasticLoadBalancingClient,
  type PolicyDescription,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeSSLPoliciesCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/aws-errors';
import { ruleSetting } from '../rules/settings';
import * as z from '../zod';

/**
 * The TLS versions a load balancer policy allows, read from what AWS lists for it, never from its
 * name: v2 policies through DescribeSslPolicies, Classic negotiation policies through their
 * `Protocol-*` attributes (or, when they list none, those of the predefined policy they reference).
 */

/** TLS versions, oldest first: a policy allowing any before the minimum is drift. */
const TLS_VERSIONS = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

const versionOf = (protocol: string) => TLS_VERSIONS.indexOf(protocol as (typeof TLS_VERSIONS)[number]);

/** Both load balancer TLS rules judge against the same minimum: one setting. */
export const elbMinimumTlsVersion = ruleSetting({
  parameter: 'elbMinimumTlsVersion',
  variable: 'ELB_MINIMUM_TLS_VERSION',
  fallback: 'TLSv1.2',
  doc: "the lowest TLS version a load balancer HTTPS, TLS or SSL listener may allow (`TLSv1.2` or `TLSv1.3`), judged by the protocols its policy lists (`DescribeSslPolicies`, a Classic policy's attributes), not by the policy's name",
  schema: z.enum(['TLSv1.2', 'TLSv1.3']),
});

/** A predefined ELBSecurityPolicy-* name. */
export const predefinedPolicy = z
  .string()
  .check(z.regex(/^ELBSecurityPolicy-[\w-]{1,100}$/, 'expected a predefined ELBSecurityPolicy-* name'));

/** The protocols below the minimum, oldest first (AWS lists them in any order). */
export const belowMinimum = (protocols: readonly string[], minimum: string): string[] =>
  // A protocol this code does not know (-1) is not assumed strong.
  protocols
    .filter((protocol) => versionOf(protocol) < versionOf(minimum))
    .sort((a, b) => versionOf(a) - versionOf(b));

/**
 * What a policy allows below the minimum, or a phrase saying its protocols could not be read
 * (an unknown policy is never taken for a strong one); empty when it meets the minimum.
 */
export const weaknessOf = (protocols: readonly string[], minimum: string, policy = 'no policy'): string[] =>
  protocols.length === 0 ? [`no protocols listed for ${policy}`] : belowMinimum(protocols, minimum);

/** Each v2 policy's protocols; a name AWS does not know reads as no protocols (never as compliant). */
export async function sslPolicyProtocols(
  elbv2: ElasticLoadBalancingV2Client,
  names: readonly string[],
): Promise<ReadonlyMap<string, readonly string[]>> {
  const protocols = new Map<string, readonly string[]>();
  for (const name of new Set(names)) {
    try {
      const { SslPolicies = [] } = await elbv2.send(new DescribeSSLPoliciesCommand({ Names: [name] }));
      protocols.set(name, SslPolicies.find((policy) => policy.Name === name)?.SslProtocols ?? []);
    } catch (error) {
      if (!isAwsError(error, 'SSLPolicyNotFoundException', 'SSLPolicyNotFound')) throw error;
      protocols.set(name, []);
    }
  }
  return protocols;
}

export const NEGOTIATION_POLICY_TYPE = 'SSLNegotiationPolicyType';
export const REFERENCE_ATTRIBUTE = 'Reference-Security-Policy';
const PROTOCOL_ATTRIBUTE = /^Protocol-(.+)$/;

/** A Classic policy as the rule reads it: its type, the predefined policy it references, its protocols. */
export interface ClassicPolicy {
  readonly name: string;
  readonly type: string;
  readonly reference?: string;
  /** For a negotiation policy: the protocols it allows (`Protocol-<version>` true); empty otherwise. */
  readonly protocols: readonly string[];
}

const attribute = (policy: PolicyDescription, name: string) =>
  policy.PolicyAttributeDescriptions?.find((described) => described.AttributeName === name)?.AttributeValue;

const listedProtocols = (policy: PolicyDescription) =>
  (policy.PolicyAttributeDescriptions ?? []).flatMap((described) => {
    const version = PROTOCOL_ATTRIBUTE.exec(described.AttributeName ?? '')?.[1];
    return version && described.AttributeValue === 'true' ? [version] : [];
  });

const listsProtocols = (policy: PolicyDescription) =>
  (policy.PolicyAttributeDescriptions ?? []).some((described) =>
    PROTOCOL_ATTRIBUTE.test(described.AttributeName ?? ''),
  );

/** A predefined Classic policy's protocols; a name AWS does not know reads as none. */
async function predefinedProtocols(elb: ElasticLoadBalancingClient, name: string): Promise<string[]> {
  try {
    const { PolicyDescriptions = [] } = await elb.send(
      new DescribeLoadBalancerPoliciesCommand({ PolicyNames: [name] }),
    );
    const predefined = PolicyDescriptions.find((policy) => policy.PolicyName === name);
    return predefined ? listedProtocols(predefined) : [];
  } catch (error) {
    if (!isAwsError(error, 'PolicyNotFoundException', 'PolicyNotFound')) throw error;
    return [];
  }
}

/** Reads a predefined Classic policy (`ELBSecurityPolicy-*`) as a ClassicPolicy. */
export async function readPredefinedPolicy(
  elb: ElasticLoadBalancingClient,
  name: string,
): Promise<ClassicPolicy> {
  return { name, type: NEGOTIATION_POLICY_TYPE, protocols: await predefinedProtocols(elb, name) };
}

/**
 * Every policy of a Classic Load Balancer. A negotiation policy's protocols are its own
 * `Protocol-*` attributes (AWS lists them, expanded, for a policy made from a reference); one that
 * lists none is read through the predefined policy it references.
 */
export async function classicPoliciesOf(
  elb: ElasticLoadBalancingClient,
  loadBalancerName: string,
): Promise<ClassicPolicy[]> {
  const { PolicyDescriptions = [] } = await elb.send(
    new DescribeLoadBalancerPoliciesCommand({ LoadBalancerName: loadBalancerName }),
  );
  const policies: ClassicPolicy[] = [];
  for (const policy of PolicyDescriptions) {
    const type = policy.PolicyTypeName ?? '';
    const reference = attribute(policy, REFERENCE_ATTRIBUTE);
    const negotiation = type === NEGOTIATION_POLICY_TYPE;
    const protocols = !negotiation
      ? []
      : listsProtocols(policy) || !reference
        ? listedProtocols(policy)
        : await predefinedProtocols(elb, reference);
    policies.push({ name: policy.PolicyName ?? '', type, reference, protocols });
  }
  return policies;
}
