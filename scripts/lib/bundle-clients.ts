import { basename } from 'node:path';
import type { Plugin } from 'esbuild';
import { rules } from '../../shared/rules';
import { actionsOf, organisationActionsOf, type Rule } from '../../shared/rules/rule';

/**
 * A rule function's bundle carries only the SDK clients of the services its role may call: a client
 * costs load time at every cold start (EC2's alone is about 560 KB minified), and one the role could
 * not use anyway is dead weight. The other clients are replaced by stand-ins whose every export
 * throws, naming the service the rule would have to declare first.
 */

/** The client packages that serve each IAM service prefix a rule may declare. */
const CLIENTS_OF_SERVICE: Readonly<Record<string, readonly string[]>> = {
  cloudformation: ['@aws-sdk/client-cloudformation'],
  cloudtrail: ['@aws-sdk/client-cloudtrail'],
  cloudwatch: ['@aws-sdk/client-cloudwatch'],
  config: ['@aws-sdk/client-config-service'],
  dynamodb: ['@aws-sdk/client-dynamodb', '@aws-sdk/client-dynamodb-streams'],
  ec2: ['@aws-sdk/client-ec2'],
  ecr: ['@aws-sdk/client-ecr'],
  ecs: ['@aws-sdk/client-ecs'],
  // Classic and v2 load balancers share the IAM prefix.
  elasticloadbalancing: [
    '@aws-sdk/client-elastic-load-balancing',
    '@aws-sdk/client-elastic-load-balancing-v2',
  ],
  events: ['@aws-sdk/client-eventbridge'],
  iam: ['@aws-sdk/client-iam'],
  kms: ['@aws-sdk/client-kms'],
  lambda: ['@aws-sdk/client-lambda'],
  logs: ['@aws-sdk/client-cloudwatch-logs'],
  organizations: ['@aws-sdk/client-organizations'],
  securityhub: ['@aws-sdk/client-securityhub'],
  sns: ['@aws-sdk/client-sns'],
  sqs: ['@aws-sdk/client-sqs'],
  sts: ['@aws-sdk/client-sts'],
};

/**
 * What every rule function calls through the pipeline policy (serverless.yml, PipelinePolicy): its
 * table, its topic, Config's evaluations, the sweep's DescribeRegions and its units' queue.
 */
export const PIPELINE_SERVICES = ['dynamodb', 'sns', 'config', 'ec2', 'sqs'] as const;
/**
 * What every rule function calls in an organisation deployment, through its role's
 * act-in-member-accounts policy (scripts/lib/deployment.ts): the organisation's accounts, STS.
 */
export const ORGANISATION_SERVICES = ['organizations', 'sts'] as const;

const CLIENT_PACKAGE = /^@aws-sdk\/client-[a-z0-9-]+$/;

/** The client packages a rule's function bundles: the pipeline's and its own statements' services. */
export function clientPackagesOf(rule: Pick<Rule, 'permissions' | 'organisation'>): string[] {
  return packagesOfServices([
    ...PIPELINE_SERVICES,
    ...ORGANISATION_SERVICES,
    ...[...actionsOf(rule), ...organisationActionsOf(rule)].map((action) => action.split(':')[0] ?? ''),
  ]);
}

/**
 * A stand-in module: the package's client classes (what shared/aws/clients.ts imports), each
 * throwing when built. Nothing else is exported, so a module in the bundle that imports one of its
 * commands fails the build, naming the import: the rule sends a call its role does not declare.
 */
function standIn(pkg: string, functionId: string): string {
  const names = Object.keys(require(pkg) as Record<string, unknown>).filter((name) =>
    /^[A-Za-z0-9]+Client$/.test(name),
  );
  const message = JSON.stringify(
    `${pkg} is not in the ${functionId} bundle: its role declares no action of that service (scripts/lib/bundle-clients.ts)`,
  );
  return [
    `class LeftOut { constructor() { throw new Error(${message}); } }`,
    `export { ${names.map((name) => `LeftOut as ${name}`).join(', ')} };`,
  ].join('\n');
}

/**
 * Functions that run no rule, with a role as narrow as a rule's: the services that role
 * (serverless.yml) may call. The other functions (heartbeat, incident-events) keep every client.
 */
export const OTHER_FUNCTION_SERVICES: Readonly<Record<string, readonly string[]>> = {
  // MemberHeartbeatRole: its last-seen items and the organisation's accounts; GetCallerIdentity needs no permission.
  'member-heartbeat': ['dynamodb', 'organizations', 'sts'],
  // SecurityHubFindingsRole: import and update findings; the stream's records arrive in the event.
  // DynamoDB's client comes with shared/aws/clients.ts's document client, unused here. In an
  // organisation deployment it lists the organisation's accounts and assumes its member role there.
  'security-hub-findings': ['dynamodb', 'organizations', 'securityhub', 'sts'],
};

const packagesOfServices = (services: Iterable<string>): string[] =>
  [...new Set(services)].flatMap((service) => CLIENTS_OF_SERVICE[service] ?? []).sort();

/** The function an entry point (functions/<id>.ts) is, with the client packages it keeps; undefined: all. */
function bundleOfEntry(entryPoints: unknown): { id: string; packages: string[] } | undefined {
  const entries = Array.isArray(entryPoints) ? entryPoints : Object.values(entryPoints ?? {});
  if (entries.length !== 1 || typeof entries[0] !== 'string') return undefined;
  const id = basename(entries[0]).replace(/\.[cm]?[jt]s$/, '');
  const rule = rules.find((candidate) => candidate.id === id);
  if (rule) return { id, packages: clientPackagesOf(rule) };
  const services = OTHER_FUNCTION_SERVICES[id];
  return services && { id, packages: packagesOfServices(services) };
}

/**
 * The esbuild plugin: in a rule's bundle (or one of OTHER_FUNCTION_SERVICES), clients outside its
 * services become stand-ins. The rule is the entry point's (functions/<id>.ts) unless given; other
 * entry points are left alone.
 */
export function onlyDeclaredClients(given?: Rule): Plugin {
  return {
    name: 'only-declared-clients',
    setup(build) {
      const bundle = given
        ? { id: given.id, packages: clientPackagesOf(given) }
        : bundleOfEntry(build.initialOptions.entryPoints);
      if (!bundle) return;
      const kept = new Set(bundle.packages);
      build.onResolve({ filter: CLIENT_PACKAGE }, (args) =>
        kept.has(args.path) ? undefined : { path: args.path, namespace: 'left-out-client' },
      );
      build.onLoad({ filter: /.*/, namespace: 'left-out-client' }, (args) => ({
        contents: standIn(args.path, bundle.id),
        loader: 'js',
      }));
    },
  };
}
