import {
  type Action,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
  ModifyListenerCommand,
  paginateDescribeLoadBalancers,
  paginateDescribeRules,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/aws-errors';
import type { Settings } from '../config';
import { carriesTls, listenerLabel as label, listenersOf, v2TagsOf } from '../elb/readers';
import {
  belowMinimum,
  elbMinimumTlsVersion,
  predefinedPolicy,
  sslPolicyProtocols,
  weaknessOf,
} from '../elb/tls';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { LOAD_BALANCER, loadBalancerArnOf } from '../resources/load-balancer';
import { inTagScope, tagScope } from '../setting-schemas';
import { defineRule, type Finding, type Loaded, REEVALUATE_PAIRED_CONFIG_RULES, Stack } from './rule';
import { ruleSetting, settingsReader } from './settings';

/**
 * Encryption in transit at the front of Application and Network Load Balancers (§164.312(e)): an
 * HTTPS (ALB) or TLS (NLB) listener whose security policy allows a TLS version below the minimum,
 * judged by the protocols the policy lists (DescribeSslPolicies), never by its name; and an ALB
 * HTTP listener that serves traffic instead of redirecting it to HTTPS, over its default action and
 * its rules. Judged per load balancer: whether an HTTP listener can be redirected depends on its
 * siblings (an HTTPS listener on 443 must exist).
 */

const TLS_PROTOCOLS = new Set(['HTTPS', 'TLS']);
const SECURE_PORT = 443;

export interface ListenerState {
  readonly arn: string;
  readonly port: number;
  readonly protocol: string;
  readonly sslPolicy?: string;
  /** The protocols its policy allows, as DescribeSslPolicies lists them; empty when AWS knows no such policy. */
  readonly sslProtocols: readonly string[];
  readonly defaultActions: readonly Action[];
  /** An ALB HTTP listener's own rules (not the default) that forward plain HTTP to targets. */
  readonly forwardingRules: readonly string[];
}

export interface LoadBalancerState {
  readonly name: string;
  readonly type: string;
  readonly listeners: readonly ListenerState[];
}

const isTlsListener = (listener: ListenerState) => TLS_PROTOCOLS.has(listener.protocol);

const weakProtocolsOf = (listener: ListenerState, settings: Settings): string[] =>
  weaknessOf(listener.sslProtocols, mine(settings).minimumTlsVersion, listener.sslPolicy);

const redirectsToHttps = (actions: readonly Action[]) =>
  actions.some((action) => action.Type === 'redirect' && action.RedirectConfig?.Protocol === 'HTTPS');

/** An ALB HTTP listener whose default action does not redirect to HTTPS serves plain HTTP. */
const servesPlainHttp = (state: LoadBalancerState, listener: ListenerState) =>
  state.type === 'application' && listener.protocol === 'HTTP' && !redirectsToHttps(listener.defaultActions);

const hasSecureListener = (state: LoadBalancerState) =>
  state.listeners.some((listener) => listener.protocol === 'HTTPS' && listener.port === SECURE_PORT);

/** An authenticate action's client secret cannot be read back: such an action cannot be restored exactly. */
const authenticates = (actions: readonly Action[]) =>
  actions.some((action) => action.Type?.startsWith('authenticate-'));

const HTTPS_REDIRECT: Action = {
  Type: 'redirect',
  RedirectConfig: {
    Protocol: 'HTTPS',
    Port: String(SECURE_PORT),
    Host: '#{host}',
    Path: '/#{path}',
    Query: '#{query}',
    StatusCode: 'HTTP_301',
  },
};

const bounded = (parts: readonly string[]) => parts.join('; ').slice(0, 256);

/** Rules of an HTTP listener that forward to targets: plain HTTP reaching the application. */
async function forwardingRulesOf(
  elbv2: ElasticLoadBalancingV2Client,
  listenerArn: string,
): Promise<string[]> {
  const forwarding: string[] = [];
  for await (const page of paginateDescribeRules({ client: elbv2 }, { ListenerArn: listenerArn })) {
    for (const rule of page.Rules ?? []) {
      if (rule.IsDefault || !rule.RuleArn) continue;
      if ((rule.Actions ?? []).some((action) => action.Type === 'forward')) forwarding.push(rule.RuleArn);
    }
  }
  return forwarding;
}

async function describe(
  loadBalancer: LoadBalancer,
  elbv2: ElasticLoadBalancingV2Client,
  scope: { accountId: string; region: string },
  settings: Settings,
): Promise<Loaded<LoadBalancerState>> {
  const arn = loadBalancer.LoadBalancerArn ?? '';
  const type = loadBalancer.Type ?? 'application';
  const name = loadBalancer.LoadBalancerName ?? arn;
  const tags = await v2TagsOf(elbv2, arn);
  const { region, accountId } = scope;
  const loaded = { resourceType: LOAD_BALANCER, resourceId: arn, arn, region, accountId, tags };
  // Out of scope, it is not judged (shared/rules/scope.ts): its listeners are not read either.
  if (!inTagScope(tags, mine(settings).scope)) return { ...loaded, state: { name, type, listeners: [] } };
  const listeners = await listenersOf(elbv2, arn);
  const policies = await sslPolicyProtocols(
    elbv2,
    listeners.flatMap((listener) => (listener.SslPolicy ? [listener.SslPolicy] : [])),
  );
  const states: ListenerState[] = [];
  for (const listener of listeners) {
    const protocol = listener.Protocol ?? '';
    states.push({
      arn: listener.ListenerArn ?? '',
      port: listener.Port ?? 0,
      protocol,
      sslPolicy: listener.SslPolicy,
      sslProtocols: (listener.SslPolicy && policies.get(listener.SslPolicy)) || [],
      defaultActions: listener.DefaultActions ?? [],
      forwardingRules:
        type === 'application' && protocol === 'HTTP'
          ? await forwardingRulesOf(elbv2, listener.ListenerArn ?? '')
          : [],
    });
  }
  return { ...loaded, state: { name, type, listeners: states } };
}

/** What remediate changes on one listener, and how to put it back. */
interface ListenerChange {
  readonly listener: ListenerState;
  readonly set: { SslPolicy: string } | { DefaultActions: Action[] };
  readonly previous: { SslPolicy: string } | { DefaultActions: Action[] };
}

/** Reads the changed listeners back: a change counts only when AWS shows it. */
async function readBack(elbv2: ElasticLoadBalancingV2Client, changes: readonly ListenerChange[]) {
  const { Listeners = [] } = await elbv2.send(
    new DescribeListenersCommand({ ListenerArns: changes.map((change) => change.listener.arn) }),
  );
  const missing = changes.filter((change) => {
    const now = Listeners.find((listener) => listener.ListenerArn === change.listener.arn);
    if ('SslPolicy' in change.set) return now?.SslPolicy !== change.set.SslPolicy;
    return !redirectsToHttps(now?.DefaultActions ?? []);
  });
  if (missing.length > 0) {
    throw new Error(
      `read back without the change: ${missing.map((change) => label(change.listener)).join(', ')}`,
    );
  }
  return { listenersReadBack: changes.length };
}

const declared = {
  scope: ruleSetting({
    parameter: 'elbListenerScope',
    variable: 'ELB_LISTENER_SCOPE',
    fallback: 'all',
    doc: 'which Application and Network Load Balancers `elb-listener-tls` judges: `all`, or `tag:<key>[=<value>]`; never silent when narrowed: one out of scope is NOT_APPLICABLE naming the scope, each sweep counts them, a cold start warns, and a tag call that takes one out of the scope is recorded and paged',
    schema: tagScope,
  }),
  minimumTlsVersion: elbMinimumTlsVersion,
  tlsPolicy: ruleSetting({
    parameter: 'elbTlsPolicy',
    variable: 'ELB_TLS_POLICY',
    fallback: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    doc: 'the predefined policy enforce sets on an Application Load Balancer HTTPS or Network Load Balancer TLS listener that allows less than `elbMinimumTlsVersion` (refused at remediation if it allows less itself); FIPS and post-quantum policies that meet the minimum count as compliant',
    schema: predefinedPolicy,
  }),
};
const mine = settingsReader(declared);

export const elbListenerTls = defineRule<LoadBalancerState>({
  id: 'elb-listener-tls',
  settings: declared,
  scope: { setting: declared.scope, covers: 'load balancer' },
  title: 'Load balancer listener allows weak TLS or plain HTTP',
  severity: Severity.High,
  hipaa: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
  runbook: 'docs/runbooks/elb-listener-tls.md',
  readme: {
    enforce:
      'sets the configured policy (`elbTlsPolicy`) on each ALB HTTPS or NLB TLS listener whose policy allows TLS below `elbMinimumTlsVersion`, keeping the previous policy as the undo; turns an ALB HTTP listener that serves traffic into a redirect to HTTPS:443 only when the load balancer has an HTTPS listener on 443 (otherwise declines, saying why); listener rules forwarding plain HTTP are reported, never rewritten; never deletes a listener or rule',
  },
  undoActions: ['elasticloadbalancing:ModifyListener'],
  defaultMode: Mode.Enforce,
  resourceType: LOAD_BALANCER,
  triggers: {
    cloudTrail: {
      // Tag calls: a load balancer leaving a narrowed scope is recorded and paged (the kit's scope).
      eventNames: [
        'CreateLoadBalancer',
        'CreateListener',
        'ModifyListener',
        'CreateRule',
        'ModifyRule',
        'AddTags',
        'RemoveTags',
      ],
    },
    managedConfigRules: [
      {
        sourceIdentifier: 'ELBV2_PREDEFINED_SECURITY_POLICY_SSL_CHECK',
        ruleName: 'elbv2-predefined-security-policy-ssl-check',
        resourceType: 'AWS::ElasticLoadBalancingV2::Listener',
      },
      {
        sourceIdentifier: 'ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK',
        ruleName: 'alb-http-to-https-redirection-check',
      },
    ],
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadLoadBalancers',
      actions: [
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeRules',
        'elasticloadbalancing:DescribeSSLPolicies',
        'elasticloadbalancing:DescribeTags',
      ],
      why: 'Elastic Load Balancing Describe* calls have no resource-level permissions.',
    },
    {
      sid: 'ModifyListeners',
      actions: ['elasticloadbalancing:ModifyListener'],
      resources: [
        `arn:${Stack.partition}:elasticloadbalancing:*:${Stack.accountId}:listener/app/*`,
        `arn:${Stack.partition}:elasticloadbalancing:*:${Stack.accountId}:listener/net/*`,
      ],
      why: 'Listeners of Application and Network Load Balancers in any swept region; never a delete.',
    },
    REEVALUATE_PAIRED_CONFIG_RULES,
  ],

  /** A load balancer, or a listener or rule of one (a compliance change names a listener). */
  async load(ref, aws, settings) {
    const arn = loadBalancerArnOf(ref.resourceId);
    if (!arn) return undefined;
    const elbv2 = aws.elbv2(ref.region);
    try {
      const { LoadBalancers = [] } = await elbv2.send(
        new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }),
      );
      const [loadBalancer] = LoadBalancers;
      if (!loadBalancer || !carriesTls(loadBalancer)) return undefined;
      return await describe(loadBalancer, elbv2, ref, settings);
    } catch (error) {
      if (isAwsError(error, 'LoadBalancerNotFoundException', 'LoadBalancerNotFound')) return undefined;
      throw error;
    }
  },

  async *list(scope, aws, settings) {
    const elbv2 = aws.elbv2(scope.region);
    for await (const page of paginateDescribeLoadBalancers({ client: elbv2 }, {})) {
      for (const loadBalancer of page.LoadBalancers ?? []) {
        if (carriesTls(loadBalancer)) yield await describe(loadBalancer, elbv2, scope, settings);
      }
    }
  },

  detect(resource, settings) {
    const { state } = resource;
    const weak = state.listeners.filter(isTlsListener).flatMap((listener) => {
      const protocols = weakProtocolsOf(listener, settings);
      return protocols.length === 0
        ? []
        : [`${label(listener)} ${listener.sslPolicy} allows ${protocols.join(', ')}`];
    });
    const plain = state.listeners.filter((listener) => servesPlainHttp(state, listener)).map(label);
    const forwarding = state.listeners.flatMap((listener) => listener.forwardingRules);
    if (weak.length + plain.length + forwarding.length === 0) return { compliant: true };
    const problems = [
      ...(weak.length > 0
        ? [`${weak.length} listener(s) allow TLS below ${mine(settings).minimumTlsVersion}`]
        : []),
      ...(plain.length > 0
        ? [`${plain.join(', ')} serve(s) plain HTTP instead of redirecting to HTTPS`]
        : []),
      ...(forwarding.length > 0 ? [`${forwarding.length} listener rule(s) forward plain HTTP`] : []),
    ];
    const plan = [
      ...(weak.length > 0
        ? [`set ${mine(settings).tlsPolicy} on the weak listener(s) (ModifyListener)`]
        : []),
      ...(plain.length > 0
        ? [
            hasSecureListener(state)
              ? 'make the HTTP listener(s) redirect to HTTPS:443 (ModifyListener)'
              : 'nothing automatic for plain HTTP: the load balancer has no HTTPS listener on 443 to redirect to',
          ]
        : []),
      ...(forwarding.length > 0 ? ['report the forwarding rules (never rewritten)'] : []),
    ];
    return {
      compliant: false,
      reason: `${state.type === 'network' ? 'Network' : 'Application'} Load Balancer ${state.name}: ${problems.join('; ')}`,
      evidence: {
        loadBalancerType: state.type,
        listeners: state.listeners.length,
        weakTlsListeners: bounded(weak),
        plainHttpListeners: bounded(plain),
        forwardingHttpRules: forwarding.length,
        hasHttpsListenerOn443: hasSecureListener(state),
        minimumTlsVersion: mine(settings).minimumTlsVersion,
        encryptedLeg: 'client to load balancer',
      },
      plan: plan.join('; '),
    };
  },

  async remediate(resource, _finding: Finding, { aws, settings, step }) {
    const { state } = resource;
    const elbv2 = aws.elbv2(resource.region);
    const declined: string[] = [];
    const changes: ListenerChange[] = [];

    const weak = state.listeners.filter(
      (listener) => isTlsListener(listener) && weakProtocolsOf(listener, settings).length > 0,
    );
    if (weak.length > 0) {
      // The configured policy is judged as any listener's is: a weak setting is refused, not applied.
      const target = mine(settings).tlsPolicy;
      const protocols = (await sslPolicyProtocols(elbv2, [target])).get(target) ?? [];
      const tooWeak =
        protocols.length === 0 ? ['unknown'] : belowMinimum(protocols, mine(settings).minimumTlsVersion);
      if (tooWeak.length > 0) {
        declined.push(`the configured policy ${target} (ELB_TLS_POLICY) allows ${tooWeak.join(', ')} itself`);
      } else {
        for (const listener of weak) {
          changes.push({
            listener,
            set: { SslPolicy: target },
            previous: { SslPolicy: listener.sslPolicy ?? '' },
          });
        }
      }
    }

    const plain = state.listeners.filter((listener) => servesPlainHttp(state, listener));
    for (const listener of plain) {
      if (!hasSecureListener(state)) {
        declined.push(
          `${label(listener)} serves plain HTTP and the load balancer has no HTTPS listener on 443 to redirect to: add one (with a certificate), then the responder redirects`,
        );
      } else if (authenticates(listener.defaultActions)) {
        declined.push(
          `${label(listener)} authenticates users: its action cannot be restored exactly, so it is not rewritten`,
        );
      } else {
        changes.push({
          listener,
          set: { DefaultActions: [HTTPS_REDIRECT] },
          previous: { DefaultActions: [...listener.defaultActions] },
        });
      }
    }
    const forwarding = state.listeners.flatMap((listener) => listener.forwardingRules);
    if (forwarding.length > 0) {
      declined.push(
        `${forwarding.length} listener rule(s) forward plain HTTP (reported, never rewritten): ${forwarding.join(', ')}`.slice(
          0,
          400,
        ),
      );
    }

    for (const change of changes) {
      const ListenerArn = change.listener.arn;
      await step(
        'ModifyListener',
        () => elbv2.send(new ModifyListenerCommand({ ListenerArn, ...change.set })),
        {
          undo: {
            service: 'elasticloadbalancing',
            action: 'ModifyListener',
            input: { ListenerArn, ...change.previous, Region: resource.region },
          },
          output: () => ({
            listener: label(change.listener),
            ...('SslPolicy' in change.set
              ? { sslPolicy: change.set.SslPolicy, previousSslPolicy: change.listener.sslPolicy ?? null }
              : { redirectedTo: `HTTPS:${SECURE_PORT}` }),
          }),
        },
      );
    }
    if (declined.length > 0) {
      // What was changed is read back before saying the rest is left to a person.
      if (changes.length > 0)
        await step('ReadBack', () => readBack(elbv2, changes), { output: (value) => value, readOnly: true });
      throw new RemediationDeclined(declined.join('; '));
    }
  },
});
