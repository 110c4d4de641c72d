import { DescribeTrailsCommand, GetTrailStatusCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeConfigRulesCommand } from '@aws-sdk/client-config-service';
import { DescribeRuleCommand, ListRuleNamesByTargetCommand } from '@aws-sdk/client-eventbridge';
import {
  type EventSourceMappingConfiguration,
  type FunctionConfiguration,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  paginateListEventSourceMappings,
} from '@aws-sdk/client-lambda';
import { isAwsError } from '../aws/aws-errors';
import type { AwsClients } from '../aws/clients';
import { regionsToSweep } from '../aws/enabled-regions';
import { modeVariable, type Settings } from '../config';
import { errorMessage } from '../errors';
import { Mode } from '../model';
import type { AccountAccess } from '../organisation/accounts';
import { organisationStatementProblem, readOrganisationStatement } from '../organisation/bus-policy';
import { sweepFunctionName } from '../pipeline/sweep-names';
import {
  changesOf,
  configurationProblem,
  type FunctionConfigurations,
  readFunctionConfigurations,
} from '../rules/function-configuration';
import type { Rule } from '../rules/rule';
import {
  DEPLOYMENT_HISTORY_KEY,
  type DeploymentFacts,
  DynamoDbDeploymentHistory,
} from './deployment-history';
import { DynamoDbMemberHeartbeats, memberProblems } from './member-heartbeat';

/** One thing that leaves the responder blind or deaf, in words on-call can act on. */
export interface HealthProblem {
  check:
    | 'triggers'
    | 'config-rule'
    | 'trail'
    | 'configuration'
    | 'stream'
    | 'sweep'
    | 'deployment-history'
    | 'organisation'
    | 'member';
  subject: string;
  problem: string;
}

export interface RuleModes {
  modes: Record<string, Mode>;
  /** Rule ids, sorted. */
  changedOutsideDeployment: string[];
}

export interface HeartbeatReport {
  healthy: boolean;
  checked: {
    functions: number;
    configRules: number;
    trails: number;
    configurations: number;
    /** The stream consumers (incident exports) whose event source mappings were read. */
    streams: number;
    /** The sweep functions whose queue mappings and reserved concurrency were read. */
    sweeps: number;
    /** Organisation deployment: the member accounts whose stacks' heartbeats were expected. */
    members?: number;
  };
  problems: HealthProblem[];
  /**
   * Each rule's mode as its function's live configuration ($LATEST) sets it, and the rules whose live
   * mode differs from what their deployment published (changed outside a deployment).
   */
  modes?: RuleModes;
  /** Whether this run appended to the deployment history (recordDeployment); failed: see problems. */
  deployment?: 'recorded' | 'unchanged' | 'failed';
}

/**
 * The self-check behind the heartbeat metric. Read-only: fixing a disabled rule is self-protection's
 * job and a stopped trail cloudtrail-logging-on's; this says whether they (and every other rule)
 * can still hear anything.
 */
export async function checkHealth(
  rules: readonly Rule[],
  scope: { accountId: string; settings: Settings; accounts?: AccountAccess; now?: Date },
  aws: AwsClients,
): Promise<HeartbeatReport> {
  const { settings, accountId } = scope;
  const region = settings.homeRegion;
  const problems: HealthProblem[] = [];
  const active = rules.filter((rule) => settings.modes[rule.id] !== 'off');

  // Each rule's function must be the target of at least one rule (events, schedule), all enabled.
  const events = aws.events(region);
  const triggered = active.map((rule) => `${settings.stackName}-${rule.id}`);
  // An organisation deployment hears its member stacks' heartbeats through one more function.
  if (settings.organizationId) triggered.push(`${settings.stackName}-member-heartbeat`);
  for (const functionName of triggered) {
    const TargetArn = `arn:aws:lambda:${region}:${accountId}:function:${functionName}`;
    const { RuleNames = [] } = await events.send(new ListRuleNamesByTargetCommand({ TargetArn }));
    if (RuleNames.length === 0) {
      problems.push({ check: 'triggers', subject: functionName, problem: 'no EventBridge rule invokes it' });
      continue;
    }
    for (const Name of RuleNames) {
      const described = await events.send(new DescribeRuleCommand({ Name }));
      if (described.State !== 'ENABLED')
        problems.push({
          check: 'triggers',
          subject: Name,
          problem: `rule is ${described.State ?? 'unknown'}`,
        });
    }
  }

  // The stack's own Config custom rules, when it created them.
  const configRuleNames = settings.configRules
    ? active
        .filter((rule) => rule.triggers.customConfigRule)
        .map((rule) => `${settings.stackName}-${rule.id}`)
    : [];
  if (configRuleNames.length > 0) {
    const found = new Map<string, string | undefined>();
    try {
      const { ConfigRules = [] } = await aws
        .config(region)
        .send(new DescribeConfigRulesCommand({ ConfigRuleNames: configRuleNames }));
      for (const configRule of ConfigRules)
        found.set(String(configRule.ConfigRuleName), configRule.ConfigRuleState);
    } catch (error) {
      // Any one missing name fails the whole call.
      if (!isAwsError(error, 'NoSuchConfigRuleException')) throw error;
    }
    for (const name of configRuleNames) {
      const state = found.get(name);
      if (state !== 'ACTIVE')
        problems.push({
          check: 'config-rule',
          subject: name,
          problem: state ? `rule is ${state}` : 'rule is missing',
        });
    }
  }

  // An organisation deployment hears its members only while the bus policy admits them.
  let members: number | undefined;
  if (settings.organizationId) {
    const problem = await organisationBusProblem(
      aws,
      { accountId, region },
      { ...settings, organizationId: settings.organizationId },
    );
    if (problem) problems.push({ check: 'organisation', subject: 'default event bus', problem });
    // ...and knows a member stack is still there and forwarding only by its heartbeats.
    if (scope.accounts) {
      const found = await memberProblems({
        accounts: scope.accounts,
        heartbeats: new DynamoDbMemberHeartbeats(aws.dynamo(), settings.incidentTable),
        // The regions the sweep covers, resolved as it resolves them from the home region.
        regions: () => regionsToSweep(settings.sweepRegions, region, (name) => aws.ec2(name)),
        now: scope.now ?? new Date(),
      });
      problems.push(...found.problems);
      members = found.members;
    }
  }

  // Without a logging multi-region trail, EventBridge receives no CloudTrail event at all.
  const cloudtrail = aws.cloudtrail(region);
  const { trailList = [] } = await cloudtrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const multiRegion = trailList.filter((trail) => trail.IsMultiRegionTrail);
  let logging = 0;
  for (const trail of multiRegion) {
    const home = trail.HomeRegion ?? region;
    const status = await aws.cloudtrail(home).send(new GetTrailStatusCommand({ Name: trail.TrailARN }));
    if (status.IsLogging) logging++;
  }
  if (logging === 0) {
    problems.push({
      check: 'trail',
      subject: accountId,
      problem:
        multiRegion.length === 0
          ? 'no multi-region CloudTrail trail: no API call reaches the responder'
          : 'no multi-region trail is logging: no API call reaches the responder',
    });
  }

  // Every function, its own and self-protection's included, must run what its deployment published:
  // self-protection pages on the others, and this is the second pair of eyes on self-protection.
  // The same read gives each rule's mode as its function runs it, which the history records.
  const modes: RuleModes = { modes: {}, changedOutsideDeployment: [] };
  for (const rule of rules) {
    const name = `${settings.stackName}-${rule.id}`;
    // Its sweep function runs the same handler with the same environment: held to its version too.
    const sweepName = `${settings.stackName}-${sweepFunctionName(rule.id)}`;
    const sweep = await readFunction(aws, region, sweepName);
    if (sweep.problem) problems.push({ check: 'configuration', subject: sweepName, problem: sweep.problem });
    const seen = await readFunction(aws, region, name);
    if (seen.problem) problems.push({ check: 'configuration', subject: name, problem: seen.problem });
    const deployed = seen.configurations?.deployed
      ? modeIn(seen.configurations.deployed, rule)
      : (settings.modes[rule.id] ?? rule.defaultMode);
    // A missing function acts on nothing: off, whatever was deployed.
    const live = seen.configurations ? modeIn(seen.configurations.live, rule) : Mode.Off;
    modes.modes[rule.id] = live;
    if (live !== deployed) modes.changedOutsideDeployment.push(rule.id);
  }
  const heartbeatName = `${settings.stackName}-heartbeat`;
  const own = await readFunction(aws, region, heartbeatName);
  if (own.problem) problems.push({ check: 'configuration', subject: heartbeatName, problem: own.problem });
  modes.changedOutsideDeployment.sort();

  // The incident exports read the table's stream: a disabled or deleted event source mapping stops
  // them without an error anywhere. security-hub-findings exists only where the stage deploys it.
  const consumers = [`${settings.stackName}-incident-events`];
  const findings = `${settings.stackName}-security-hub-findings`;
  if (await functionExists(aws, region, findings)) consumers.push(findings);
  for (const name of consumers) problems.push(...(await streamProblems(aws, region, name)));

  // Each active rule's sweep units reach its sweep function only through the queue's mapping, and
  // run only within the function's reserved concurrency: fewer slots than the mapping uses at once
  // throttle its receives, each a step toward the dead-letter queue.
  const sweeps = active.map((rule) => `${settings.stackName}-${sweepFunctionName(rule.id)}`);
  for (const name of sweeps) problems.push(...(await sweepProblems(aws, region, name)));

  return {
    healthy: problems.length === 0,
    checked: {
      functions: active.length,
      configRules: configRuleNames.length,
      trails: multiRegion.length,
      configurations: 2 * rules.length + 1,
      streams: consumers.length,
      sweeps: sweeps.length,
      ...(members !== undefined && { members }),
    },
    problems,
    modes,
  };
}

/** The default bus's statement admitting the organisation, read as self-protection reads it. */
async function organisationBusProblem(
  aws: AwsClients,
  scope: { accountId: string; region: string },
  settings: Settings & { organizationId: string },
): Promise<string | undefined> {
  const { stackName, organizationId } = settings;
  const found = await readOrganisationStatement(aws.events(scope.region), {
    stackName,
    organizationId,
    ...scope,
  });
  return organisationStatementProblem(found, stackName, organizationId);
}

/**
 * A function's configurations and how $LATEST differs from its last deployment's published version,
 * in words (problem undefined: it does not); no configurations: the function is missing.
 */
async function readFunction(
  aws: AwsClients,
  region: string,
  name: string,
): Promise<{ configurations?: FunctionConfigurations; problem?: string }> {
  try {
    const configurations = await readFunctionConfigurations(aws.lambda(region), name);
    return { configurations, problem: configurationProblem(changesOf(configurations)) };
  } catch (error) {
    if (!isAwsError(error, 'ResourceNotFoundException')) throw error;
    return { problem: 'function is missing' };
  }
}

/** Mapping states on the way to Enabled; any other (Disabled, Disabling, Deleting) delivers nothing. */
const DELIVERING = new Set(['Enabled', 'Enabling', 'Creating', 'Updating']);

/** A function's event source mappings; none when the function is missing (the configuration check says so). */
async function mappingsOf(
  aws: AwsClients,
  region: string,
  name: string,
): Promise<EventSourceMappingConfiguration[]> {
  const mappings: EventSourceMappingConfiguration[] = [];
  for await (const page of paginateListEventSourceMappings(
    { client: aws.lambda(region) },
    { FunctionName: name },
  ))
    mappings.push(...(page.EventSourceMappings ?? []));
  return mappings;
}

/** A consumer with no event source mapping, or one that is not enabled, in words. */
function mappingProblems(
  mappings: readonly EventSourceMappingConfiguration[],
  consumer: { check: 'stream' | 'sweep'; name: string; source: string; consequence: string },
): HealthProblem[] {
  const { check, name, source, consequence } = consumer;
  if (mappings.length === 0)
    return [{ check, subject: name, problem: `no ${source} mapping invokes it: ${consequence}` }];
  return mappings
    .filter((mapping) => !DELIVERING.has(mapping.State ?? ''))
    .map((mapping) => ({
      check,
      subject: `${name} (${mapping.UUID ?? 'unknown'})`,
      problem: `${source} mapping is ${mapping.State ?? 'unknown'}: ${consequence}`,
    }));
}

async function streamProblems(aws: AwsClients, region: string, name: string): Promise<HealthProblem[]> {
  return mappingProblems(await mappingsOf(aws, region, name), {
    check: 'stream',
    name,
    source: 'stream',
    consequence: 'incidents are not exported',
  });
}

/**
 * A sweep function whose queue mapping is gone or disabled, or whose reserved concurrency is below
 * what its mapping runs at once (an SQS mapping does not count the reservation). Unreserved (after
 * self-protection removed a 0) is not a problem here: the next deploy reserves it again.
 */
async function sweepProblems(aws: AwsClients, region: string, name: string): Promise<HealthProblem[]> {
  const lambda = aws.lambda(region);
  let mappings: EventSourceMappingConfiguration[];
  let reserved: number | undefined;
  try {
    mappings = await mappingsOf(aws, region, name);
    reserved = (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name })))
      .ReservedConcurrentExecutions;
  } catch (error) {
    // A missing function is the configuration check's problem ('function is missing').
    if (isAwsError(error, 'ResourceNotFoundException')) return [];
    throw error;
  }
  const consequence = 'sweep units wait on the queue, then dead-letter';
  const problems = mappingProblems(mappings, { check: 'sweep', name, source: 'sweep queue', consequence });
  const maximum = Math.max(
    0,
    ...mappings
      .filter((mapping) => DELIVERING.has(mapping.State ?? ''))
      .map((mapping) => mapping.ScalingConfig?.MaximumConcurrency ?? 0),
  );
  if (reserved !== undefined && reserved < maximum)
    problems.push({
      check: 'sweep',
      subject: name,
      problem: `reserves ${reserved} concurrent executions for the ${maximum} sweep units its queue mapping runs at once: units are throttled, then dead-letter`,
    });
  return problems;
}

async function functionExists(aws: AwsClients, region: string, name: string): Promise<boolean> {
  try {
    await aws.lambda(region).send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    return true;
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) return false;
    throw error;
  }
}

/**
 * The mode a function's environment gives its rule, read as config.ts reads it. A value config.ts
 * rejects fails the function at every cold start, so the rule acts on nothing: off.
 */
function modeIn(configuration: FunctionConfiguration, rule: Rule): Mode {
  const raw = configuration.Environment?.Variables?.[modeVariable(rule.id)];
  if (raw === undefined || raw === '') return rule.defaultMode;
  const modes: readonly string[] = Object.values(Mode);
  return modes.includes(raw) ? (raw as Mode) : Mode.Off;
}

/**
 * Appends the deployment's facts (account, home region, swept regions, stage, every rule's mode as
 * its function runs it, and which of those were changed outside a deployment) to
 * the history the auditor's report reads, when they changed since the last record. A failure is a
 * problem on the report (HeartbeatProblems pages), not a missing heartbeat: the checks did run.
 */
export async function recordDeployment(
  report: HeartbeatReport,
  scope: { accountId: string; region: string; settings: Settings; now: Date },
  aws: AwsClients,
): Promise<HeartbeatReport> {
  const { accountId, region, settings, now } = scope;
  try {
    const facts: DeploymentFacts = {
      account: accountId,
      homeRegion: settings.homeRegion,
      // Resolved as the sweep resolves it, from the region its schedule fires in.
      regions: await regionsToSweep(settings.sweepRegions, region, (name) => aws.ec2(name)),
      stage: settings.stage,
      // What the rule functions run, sampled now: the heartbeat's own environment only says what
      // was deployed, and a function's MODE_<ID> can be changed without a deployment.
      ...(report.modes
        ? {
            modes: { ...report.modes.modes },
            ...(report.modes.changedOutsideDeployment.length > 0 && {
              modesChangedOutsideDeployment: [...report.modes.changedOutsideDeployment],
            }),
          }
        : { modes: { ...settings.modes } }),
    };
    const history = new DynamoDbDeploymentHistory(aws.dynamo(), settings.incidentTable);
    return { ...report, deployment: await history.record(facts, now) };
  } catch (error) {
    return {
      ...report,
      healthy: false,
      deployment: 'failed',
      problems: [
        ...report.problems,
        {
          check: 'deployment-history',
          subject: DEPLOYMENT_HISTORY_KEY.pk,
          problem: `cannot record the deployment: ${errorMessage(error)}`,
        },
      ],
    };
  }
}
