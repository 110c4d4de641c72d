import {
  CreateLoadBalancerPolicyCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingClient,
  type LoadBalancerDescription,
  paginateDescribeLoadBalancers,
  SetLoadBalancerPoliciesOfListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import { isAwsError } from '../aws/aws-errors';
import type { Settings } from '../config';
import {
  type ClassicListenerState,
  classicArn,
  classicListenersOf,
  classicTagsOf,
  listenerLabel as label,
} from '../elb/readers';
import {
  type ClassicPolicy,
  classicPoliciesOf,
  elbMinimumTlsVersion,
  NEGOTIATION_POLICY_TYPE,
  predefinedPolicy,
  REFERENCE_ATTRIBUTE,
  readPredefinedPolicy,
  weaknessOf,
} from '../elb/tls';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { CLASSIC_LOAD_BALANCER } from '../resources/load-balancer';
import { defineRule, type Finding, type Loaded, REEVALUATE_PAIRED_CONFIG_RULES, Stack } from './rule';
import { ruleSetting, settingsReader } from './settings';

/**
 * Encryption in transit at the front of Classic Load Balancers (§164.312(e)): an HTTPS or SSL
 * listener whose negotiation policy allows a TLS version below the minimum, judged by the protocols
 * the policy's attributes allow (DescribeLoadBalancerPolicies), never by its name; and HTTP or TCP
 * front ends, which carry plain traffic (reported: only a person can add a certificate and move
 * clients). Enforce makes a policy referencing the configured predefined one and sets it on the
 * listener with every other policy it had (SetLoadBalancerPoliciesOfListener replaces the list).
 */

const TLS_FRONT_ENDS = new Set(['HTTPS', 'SSL']);

export interface ClassicLoadBalancerState {
  readonly name: string;
  readonly listeners: readonly ClassicListenerState[];
  readonly policies: readonly ClassicPolicy[];
}

const bounded = (parts: readonly string[]) => parts.join('; ').slice(0, 256);

/** The listener's negotiation policy (a listener has at most one), if any. */
const negotiationOf = (state: ClassicLoadBalancerState, listener: ClassicListenerState) =>
  state.policies.find(
    (policy) => policy.type === NEGOTIATION_POLICY_TYPE && listener.policyNames.includes(policy.name),
  );

/** What an HTTPS or SSL listener allows below the minimum; empty when it meets it. */
function weaknessOfListener(
  state: ClassicLoadBalancerState,
  listener: ClassicListenerState,
  settings: Settings,
): string[] {
  const policy = negotiationOf(state, listener);
  if (!policy) return ['no SSL negotiation policy listed'];
  return weaknessOf(policy.protocols, mine(settings).minimumTlsVersion, policy.name);
}

const weakListeners = (state: ClassicLoadBalancerState, settings: Settings) =>
  state.listeners.filter(
    (listener) =>
      TLS_FRONT_ENDS.has(listener.protocol) && weaknessOfListener(state, listener, settings).length > 0,
  );

const plainFrontEnds = (state: ClassicLoadBalancerState) =>
  state.listeners.filter((listener) => !TLS_FRONT_ENDS.has(listener.protocol));

/** The policy the responder makes on a load balancer: named after the predefined policy it references. */
export const responderPolicyName = (reference: string) => `compliance-responder-${reference}`;

function toState(description: LoadBalancerDescription, policies: ClassicPolicy[]): ClassicLoadBalancerState {
  return {
    name: description.LoadBalancerName ?? '',
    policies,
    listeners: classicListenersOf(description),
  };
}

async function describe(
  description: LoadBalancerDescription,
  elb: ElasticLoadBalancingClient,
  scope: { accountId: string; region: string },
): Promise<Loaded<ClassicLoadBalancerState>> {
  const name = description.LoadBalancerName ?? '';
  const policies = await classicPoliciesOf(elb, name);
  const tags = await classicTagsOf(elb, name);
  return {
    resourceType: CLASSIC_LOAD_BALANCER,
    resourceId: name,
    arn: classicArn(scope, name),
    region: scope.region,
    accountId: scope.accountId,
    tags,
    state: toState(description, policies),
  };
}

/** What remediate sets on one listener, and what it had. */
interface ListenerChange {
  readonly listener: ClassicListenerState;
  readonly policyNames: readonly string[];
}

/** Reads the changed listeners back: a change counts only when AWS shows it. */
async function readBack(elb: ElasticLoadBalancingClient, name: string, changes: readonly ListenerChange[]) {
  const { LoadBalancerDescriptions = [] } = await elb.send(
    new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }),
  );
  const now = LoadBalancerDescriptions[0]?.ListenerDescriptions ?? [];
  const missing = changes.filter((change) => {
    const read = now.find((described) => described.Listener?.LoadBalancerPort === change.listener.port);
    return [...(read?.PolicyNames ?? [])].sort().join(',') !== [...change.policyNames].sort().join(',');
  });
  if (missing.length > 0) {
    throw new Error(
      `read back without the change: ${missing.map((change) => label(change.listener)).join(', ')}`,
    );
  }
  return { listenersReadBack: changes.length };
}

const declared = {
  minimumTlsVersion: elbMinimumTlsVersion,
  classicTlsPolicy: ruleSetting({
    parameter: 'elbClassicTlsPolicy',
    variable: 'ELB_CLASSIC_TLS_POLICY',
    fallback: 'ELBSecurityPolicy-TLS-1-2-2017-01',
    doc: "the predefined policy a Classic Load Balancer listener's new negotiation policy references (`Reference-Security-Policy`) when its own allows TLS below `elbMinimumTlsVersion` (Classic has no TLS 1.3 policy; refused at remediation if it allows less itself)",
    schema: predefinedPolicy,
  }),
};
const mine = settingsReader(declared);

export const elbClassicListenerTls = defineRule<ClassicLoadBalancerState>({
  id: 'elb-classic-listener-tls',
  settings: declared,
  title: 'Classic Load Balancer listener allows weak TLS or plain traffic',
  severity: Severity.High,
  hipaa: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
  runbook: 'docs/runbooks/elb-classic-listener-tls.md',
  readme: {
    enforce:
      "gives each Classic HTTPS or SSL listener whose negotiation policy allows TLS below `elbMinimumTlsVersion` a new policy referencing `elbClassicTlsPolicy` (`CreateLoadBalancerPolicy`, `SetLoadBalancerPoliciesOfListener`), keeping the listener's other policies (stickiness...) and its previous list as the undo; HTTP and TCP front ends are reported; never deletes a listener or policy",
  },
  undoActions: ['elasticloadbalancing:SetLoadBalancerPoliciesOfListener'],
  defaultMode: Mode.Enforce,
  resourceType: CLASSIC_LOAD_BALANCER,
  triggers: {
    cloudTrail: {
      eventNames: [
        'CreateLoadBalancer',
        'CreateLoadBalancerListeners',
        'SetLoadBalancerPoliciesOfListener',
        'CreateLoadBalancerPolicy',
      ],
    },
    managedConfigRules: [
      { sourceIdentifier: 'ELB_TLS_HTTPS_LISTENERS_ONLY', ruleName: 'elb-tls-https-listeners-only' },
      {
        sourceIdentifier: 'ELB_PREDEFINED_SECURITY_POLICY_SSL_CHECK',
        ruleName: 'elb-predefined-security-policy-ssl-check',
      },
    ],
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadClassicLoadBalancers',
      actions: [
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeLoadBalancerPolicies',
        'elasticloadbalancing:DescribeTags',
      ],
      why: 'Elastic Load Balancing Describe* calls have no resource-level permissions.',
    },
    {
      sid: 'SetClassicListenerPolicies',
      actions: [
        'elasticloadbalancing:CreateLoadBalancerPolicy',
        'elasticloadbalancing:SetLoadBalancerPoliciesOfListener',
      ],
      resources: [`arn:${Stack.partition}:elasticloadbalancing:*:${Stack.accountId}:loadbalancer/*`],
      why: 'Classic Load Balancers in any swept region; never a delete of a listener or policy.',
    },
    REEVALUATE_PAIRED_CONFIG_RULES,
  ],

  async load(ref, aws) {
    if (ref.resourceType !== CLASSIC_LOAD_BALANCER) return undefined;
    const elb = aws.elb(ref.region);
    try {
      const { LoadBalancerDescriptions = [] } = await elb.send(
        new DescribeLoadBalancersCommand({ LoadBalancerNames: [ref.resourceId] }),
      );
      const [description] = LoadBalancerDescriptions;
      return description && (await describe(description, elb, ref));
    } catch (error) {
      if (isAwsError(error, 'AccessPointNotFoundException', 'LoadBalancerNotFound')) return undefined;
      throw error;
    }
  },

  async *list(scope, aws) {
    const elb = aws.elb(scope.region);
    for await (const page of paginateDescribeLoadBalancers({ client: elb }, {})) {
      for (const description of page.LoadBalancerDescriptions ?? []) {
        yield await describe(description, elb, scope);
      }
    }
  },

  detect(resource, settings) {
    const { state } = resource;
    const minimum = mine(settings).minimumTlsVersion;
    const weak = weakListeners(state, settings).map((listener) =>
      `${label(listener)} ${negotiationOf(state, listener)?.name ?? ''} allows ${weaknessOfListener(state, listener, settings).join(', ')}`.replace(
        '  ',
        ' ',
      ),
    );
    const plain = plainFrontEnds(state).map(label);
    if (weak.length + plain.length === 0) return { compliant: true };
    const problems = [
      ...(weak.length > 0 ? [`${weak.length} listener(s) allow TLS below ${minimum}`] : []),
      ...(plain.length > 0 ? [`${plain.join(', ')} carry plain traffic from clients`] : []),
    ];
    const plan = [
      ...(weak.length > 0
        ? [
            `set a policy referencing ${mine(settings).classicTlsPolicy} on the weak listener(s), keeping their other policies (CreateLoadBalancerPolicy, SetLoadBalancerPoliciesOfListener)`,
          ]
        : []),
      ...(plain.length > 0
        ? ['nothing automatic for HTTP/TCP front ends: add an HTTPS or SSL listener and move clients to it']
        : []),
    ];
    return {
      compliant: false,
      reason: `Classic Load Balancer ${state.name}: ${problems.join('; ')}`,
      evidence: {
        listeners: state.listeners.length,
        weakTlsListeners: bounded(weak),
        plainFrontEnds: bounded(plain),
        minimumTlsVersion: minimum,
        encryptedLeg: 'client to load balancer',
      },
      plan: plan.join('; '),
    };
  },

  async remediate(resource, _finding: Finding, { aws, settings, step }) {
    const { state } = resource;
    const LoadBalancerName = state.name;
    const elb = aws.elb(resource.region);
    const declined: string[] = [];
    const changes: ListenerChange[] = [];

    const weak = weakListeners(state, settings);
    if (weak.length > 0) {
      // The configured policy is judged as any listener's is: a weak setting is refused, not applied.
      const target = mine(settings).classicTlsPolicy;
      const minimum = mine(settings).minimumTlsVersion;
      const predefined = await readPredefinedPolicy(elb, target);
      const tooWeak = weaknessOf(predefined.protocols, minimum, target);
      const PolicyName = responderPolicyName(target);
      // A policy of that name made by anyone else is judged too: a name proves nothing.
      const existing = state.policies.find((policy) => policy.name === PolicyName);
      if (tooWeak.length > 0) {
        declined.push(
          `the configured policy ${target} (ELB_CLASSIC_TLS_POLICY) allows ${tooWeak.join(', ')} itself`,
        );
      } else if (
        existing &&
        (existing.type !== NEGOTIATION_POLICY_TYPE ||
          existing.reference !== target ||
          weaknessOf(existing.protocols, minimum, PolicyName).length > 0)
      ) {
        declined.push(
          `a policy named ${PolicyName} exists on the load balancer and is not ${target}: not reused`,
        );
      } else {
        if (!existing) {
          await step(
            'CreateLoadBalancerPolicy',
            () =>
              elb.send(
                new CreateLoadBalancerPolicyCommand({
                  LoadBalancerName,
                  PolicyName,
                  PolicyTypeName: NEGOTIATION_POLICY_TYPE,
                  PolicyAttributes: [{ AttributeName: REFERENCE_ATTRIBUTE, AttributeValue: target }],
                }),
              ),
            // Never deleted by the responder: an unused policy changes nothing.
            { output: () => ({ policyName: PolicyName, referenceSecurityPolicy: target }) },
          );
        }
        for (const listener of weak) {
          // The call replaces the whole list: every policy but the old negotiation one is kept.
          const replaced = negotiationOf(state, listener)?.name;
          const policyNames = [...listener.policyNames.filter((name) => name !== replaced), PolicyName];
          changes.push({ listener, policyNames });
          await step(
            'SetLoadBalancerPoliciesOfListener',
            () =>
              elb.send(
                new SetLoadBalancerPoliciesOfListenerCommand({
                  LoadBalancerName,
                  LoadBalancerPort: listener.port,
                  PolicyNames: policyNames,
                }),
              ),
            {
              undo: {
                service: 'elasticloadbalancing',
                action: 'SetLoadBalancerPoliciesOfListener',
                input: {
                  LoadBalancerName,
                  LoadBalancerPort: listener.port,
                  PolicyNames: [...listener.policyNames],
                  Region: resource.region,
                },
              },
              output: () => ({
                listener: label(listener),
                port: listener.port,
                // As JSON: the undo check compares the list it would set back with this one exactly.
                policyNames: JSON.stringify(policyNames),
                previousPolicyNames: JSON.stringify(listener.policyNames),
              }),
            },
          );
        }
      }
    }

    const plain = plainFrontEnds(state);
    if (plain.length > 0) {
      declined.push(
        `${plain.map(label).join(', ')} carry plain traffic from clients: add an HTTPS or SSL listener with a certificate and move clients to it (not changed automatically)`,
      );
    }
    if (declined.length > 0) {
      // What was changed is read back before saying the rest is left to a person.
      if (changes.length > 0)
        await step('ReadBack', () => readBack(elb, LoadBalancerName, changes), {
          output: (value) => value,
          readOnly: true,
        });
      throw new RemediationDeclined(declined.join('; '));
    }
  },
});
