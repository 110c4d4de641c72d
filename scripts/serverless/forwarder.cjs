/**
 * `--param deployment=forwarder` turns this service into the light forwarder stack deployed in every
 * enabled region but the home one: CloudTrail events reach EventBridge only in the region of the
 * call (IAM's only in us-east-1), so each such region sends the events the home functions subscribe
 * to on to the home region's default bus, where the home rules route them unchanged (the event keeps
 * its region, and the functions act in the region the event names).
 *
 * The forwarded patterns are derived from the home functions' own eventBridge triggers (the one
 * source of truth), never kept by hand: per event source, the CloudTrail API calls reduced to
 * source / detail-type / eventSource / eventName, and the other service events (EBS notifications)
 * reduced to source / detail-type. The home rules still apply their full filters after forwarding.
 * AWS Config's own events (compliance and configuration-item changes) are not forwarded: they
 * report drift whose API call is forwarded anyway, and the sweep covers every region.
 *
 * The forwarder replaces the home stack's functions and resources with custom.forwarder.resources
 * (key, topic, dead-letter queue, role) plus one rule per forwarded pattern generated here;
 * scripts/serverless/alarms.cjs then adds a FailedInvocations alarm per rule.
 * test/contract/forwarder.test.ts checks the packaged result against the packaged home template.
 *
 * `--param deployment=member` is the same stack aimed at the security account's default bus, for a
 * StackSet to roll out to every member account and region of an organisation (docs/organisation.md):
 * it also forwards AWS Config's events (members' Config rules report to the security account this
 * way) but nothing only rules of the home stack alone (self-protection) subscribe to, runs in the
 * home region too, and, in the home region only (IAM is global), holds one role
 * per rule for that rule's function in the security account (scripts/lib/member.ts). Its one
 * scheduled rule, the member heartbeat, beats on the same path (shared/health/member-heartbeat.ts).
 * Each of its forwarded patterns also names the member's own account (`account`), so nothing
 * another account put on the member's bus is relayed as the member's.
 * test/contract/member.test.ts checks it.
 */
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { require: requireTypeScript } = require('tsx/cjs/api');

const { memberRoleResources, checkFunctionRoleNames, homeStackOnlyFunctions, HOLDS_MEMBER_ROLES } =
  requireTypeScript('../lib/member.ts', __filename);
const { MEMBER_HEARTBEAT_SCHEDULE, memberHeartbeatRuleName } = requireTypeScript(
  '../../shared/health/member-heartbeat.ts',
  __filename,
);

const CLOUDTRAIL = 'AWS API Call via CloudTrail';
const DEPLOYMENTS = ['home', 'organisation', 'forwarder', 'member'];
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
/** EventBridge's limit on rule names. */
const MAX_RULE_NAME = 64;

class ResponderForwarder {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:initialize': () => this.selectDeployment(),
      'before:package:createDeploymentArtifacts': () => this.prepareEmptyBundle(),
      'package:compileEvents': () => this.addRules(),
    };
  }

  settings() {
    return this.serverless.service.custom?.forwarder ?? {};
  }

  deployment() {
    const { deployment, organizationId } = this.settings();
    if (!DEPLOYMENTS.includes(deployment)) {
      throw new Error(`deployment must be one of ${DEPLOYMENTS.join(', ')}, not "${deployment}"`);
    }
    // The functions act in other accounts exactly when the bus admits them: never one without the other.
    if (deployment === 'organisation' && !ORGANIZATION_ID.test(organizationId ?? '')) {
      throw new Error(
        `deployment organisation needs organizationId (o- and 10 to 32 letters or digits), not "${organizationId}"`,
      );
    }
    if (deployment !== 'organisation' && organizationId) {
      throw new Error(`organizationId is for deployment organisation only, not ${deployment}`);
    }
    return deployment;
  }

  /** A forwarder or a member stack: only rules that send events on, no functions. */
  isForwarder() {
    return this.deployment() === 'forwarder' || this.deployment() === 'member';
  }

  /** Home: nothing to do. Forwarder, member: derive the patterns, then drop every home function and resource. */
  selectDeployment() {
    if (this.deployment() === 'organisation') {
      checkFunctionRoleNames(
        `${this.serverless.service.service}-${this.serverless.getProvider('aws').getStage()}`,
      );
    }
    if (!this.isForwarder()) return;
    const service = this.serverless.service;
    const settings = this.settings();
    const member = this.deployment() === 'member';
    const region = this.serverless.getProvider('aws').getRegion();
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(settings.homeRegion ?? '')) {
      throw new Error(
        `a ${this.deployment()} stack needs homeRegion (the home stack's region), not "${settings.homeRegion}"`,
      );
    }
    if (!member && settings.homeRegion === region) {
      throw new Error(`a forwarder in the home region ${region} would forward its events to itself`);
    }
    // A member forwards nothing only the home stack's own watchers subscribe to: no member event is
    // theirs. A forwarder (the security account's other regions) forwards them all.
    this.patterns = forwardedPatterns(
      member ? withoutHomeOnly(service.functions ?? {}) : (service.functions ?? {}),
      {
        config: member,
      },
    );
    service.functions = {};
    service.resources = structuredClone(settings.resources);
    if (member) this.aimAtSecurityAccount(service.resources, settings);
  }

  /**
   * The member stack: the forwarder's resources sending to the security account's bus instead of
   * this account's home region, plus the rules' member roles in the home region only.
   */
  aimAtSecurityAccount(resources, settings) {
    const homeStackName = `${this.serverless.service.service}-${this.serverless.getProvider('aws').getStage()}`;
    const roles = memberRoleResources({ securityAccount: String(settings.securityAccount), homeStackName });
    const aimed = replaceValue(resources, settings.homeEventBus, settings.securityEventBus);
    aimed.Conditions[HOLDS_MEMBER_ROLES] = { 'Fn::Equals': [{ Ref: 'AWS::Region' }, settings.homeRegion] };
    Object.assign(aimed.Resources, roles);
    aimed.Outputs.SecurityAccount = { Value: String(settings.securityAccount) };
    this.serverless.service.resources = aimed;
  }

  /**
   * serverless-esbuild 1.57 builds nothing without functions, then fails copying its missing
   * `<workFolder>/.serverless` output: give it the empty folder it expects.
   */
  prepareEmptyBundle() {
    if (!this.isForwarder()) return;
    const workFolder = this.serverless.service.custom?.esbuild?.outputWorkFolder ?? '.esbuild';
    mkdirSync(join(this.serverless.serviceDir, workFolder, '.serverless'), { recursive: true });
  }

  /** One rule per forwarded pattern, added before alarms.cjs looks for rules to watch. */
  addRules() {
    if (!this.isForwarder()) return;
    const { role, deadLetterQueue, homeEventBus } = this.settings();
    const member = this.deployment() === 'member';
    const provider = this.serverless.getProvider('aws');
    const prefix = `${this.serverless.service.service}-${provider.getStage()}-forward`;
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources;
    if (member) {
      // A StackSet deploys the template itself: no artifacts to upload, so no deployment bucket in
      // every account and region.
      delete resources.ServerlessDeploymentBucket;
      delete resources.ServerlessDeploymentBucketPolicy;
      delete template.Outputs.ServerlessDeploymentBucketName;
    }
    // Every rule sends the same way: to the home (or security account's) bus, as the forwarder role.
    const forwardingRule = (id, properties) => {
      const name = `${prefix}-${id}`;
      if (name.length > MAX_RULE_NAME)
        throw new Error(`rule name ${name} exceeds ${MAX_RULE_NAME} characters`);
      const logicalId = `Forward${id
        .split('-')
        .map((part) => part[0].toUpperCase() + part.slice(1))
        .join('')}Rule`;
      resources[logicalId] = {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: name,
          ...properties,
          State: 'ENABLED',
          Targets: [
            {
              Id: 'home-event-bus',
              Arn: member ? this.settings().securityEventBus : homeEventBus,
              RoleArn: { 'Fn::GetAtt': [role, 'Arn'] },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetterQueue, 'Arn'] } },
              // EventBridge's own maximum: a home region unreachable for a day dead-letters.
              RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
            },
          ],
        },
      };
      return name;
    };
    for (const { id, pattern } of this.patterns) {
      forwardingRule(id, {
        Description: `Forwards ${pattern.source.join(', ')} ${id.endsWith('-api-calls') ? 'API calls' : 'events'} to ${member ? "the security account's" : "the home region's"} default bus`,
        // A member forwards its own account's events only: whatever another account may put on its
        // bus (a bus policy of its own) is never relayed to the security account as the member's.
        EventPattern: member ? { ...pattern, account: [{ Ref: 'AWS::AccountId' }] } : pattern,
      });
    }
    // A member stack's heartbeat: EventBridge's own scheduled event, which only this account's rule
    // can send, on the same path as the forwarded events (shared/health/member-heartbeat.ts).
    if (member) {
      const name = forwardingRule('heartbeat', {
        Description: "Heartbeat of this member stack to the security account's default bus",
        ScheduleExpression: MEMBER_HEARTBEAT_SCHEDULE,
      });
      if (name !== memberHeartbeatRuleName(`${this.serverless.service.service}-${provider.getStage()}`))
        throw new Error(`the member heartbeat rule ${name} is not the name the security account expects`);
    }
  }
}

/** The functions less those of rules that watch only the home stack; a name the service lacks stops the package. */
function withoutHomeOnly(functions) {
  const homeOnly = homeStackOnlyFunctions();
  const missing = homeOnly.filter((name) => !Object.hasOwn(functions, name));
  if (missing.length > 0)
    throw new Error(`no function ${missing.join(', ')} to leave out of the member stack`);
  return Object.fromEntries(Object.entries(functions).filter(([name]) => !homeOnly.includes(name)));
}

/** A copy of a JSON value with every part equal to `from` replaced by `to`. */
function replaceValue(value, from, to) {
  const target = JSON.stringify(from);
  const walk = (part) => {
    if (JSON.stringify(part) === target) return structuredClone(to);
    if (Array.isArray(part)) return part.map(walk);
    if (part !== null && typeof part === 'object')
      return Object.fromEntries(Object.entries(part).map(([key, inner]) => [key, walk(inner)]));
    return part;
  };
  return walk(value);
}

const isStringList = (value) =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string');
/** Union of EventBridge match values (strings or filter objects such as { prefix }), sorted. */
const union = (values) =>
  [...new Map(values.map((value) => [JSON.stringify(value), value])).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, value]) => value);

/**
 * The forwarded patterns from the functions' eventBridge triggers: [{ id, pattern }], one per event
 * source and kind; AWS Config's own events only with `config` (a member stack). A trigger this
 * cannot reduce safely stops the package rather than forward less.
 */
function forwardedPatterns(functions, { config = false } = {}) {
  const groups = new Map();
  for (const [name, fn] of Object.entries(functions)) {
    for (const event of fn.events ?? []) {
      const trigger = event.eventBridge;
      if (!trigger) continue;
      const where = `function ${name}: eventBridge trigger`;
      if (trigger.eventBus)
        throw new Error(`${where} on a custom bus; the forwarder targets the default bus`);
      const { source, 'detail-type': detailTypes, detail } = trigger.pattern ?? {};
      if (!isStringList(source) || !isStringList(detailTypes)) {
        throw new Error(`${where} needs source and detail-type lists to be forwarded`);
      }
      const sourceId = source.map((s) => s.replace(/^aws\./, '')).join('-');
      if (detailTypes.includes(CLOUDTRAIL)) {
        if (detailTypes.length > 1) throw new Error(`${where} mixes CloudTrail and other detail types`);
        const id = `${sourceId}-api-calls`;
        const group = groups.get(id) ?? { id, source, detailTypes, eventSources: [], eventNames: [] };
        // A trigger without an eventSource or eventName filter matches more: forward all of it.
        if (detail?.eventSource === undefined) group.everySource = true;
        else group.eventSources.push(...detail.eventSource);
        if (detail?.eventName === undefined) group.everyName = true;
        else group.eventNames.push(...detail.eventName);
        groups.set(id, group);
      } else if (config || !source.every((s) => s === 'aws.config')) {
        const id = `${sourceId}-events`;
        const group = groups.get(id) ?? { id, source, detailTypes: [], eventSources: [], eventNames: [] };
        group.detailTypes.push(...detailTypes);
        groups.set(id, group);
      }
    }
  }
  return [...groups.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((group) => {
      const pattern = { source: group.source, 'detail-type': union(group.detailTypes) };
      const detail = {};
      if (group.eventSources.length > 0 && !group.everySource) detail.eventSource = union(group.eventSources);
      if (group.eventNames.length > 0 && !group.everyName) detail.eventName = union(group.eventNames);
      if (Object.keys(detail).length > 0) pattern.detail = detail;
      return { id: group.id, pattern };
    });
}

module.exports = ResponderForwarder;
module.exports.forwardedPatterns = forwardedPatterns;
