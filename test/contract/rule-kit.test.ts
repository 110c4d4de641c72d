import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../shared/errors';
import { resourceTypes } from '../../shared/resources';
import { isRecordedByConfig } from '../../shared/resources/config-item';
import type { ResourceType } from '../../shared/resources/resource-type';
import { rules } from '../../shared/rules';
import { defineRule, type Rule, typesJudgedBy } from '../../shared/rules/rule';
import { parseCloudTrailRecord } from '../../shared/triggers/cloudtrail';

/**
 * The rule kit: what a rule declares is what the rest of the project serves. Each check here is a
 * piece a new rule could forget and that would otherwise fail late (a dead-lettered event, a refused
 * exemption) or never (a declared field nothing reads).
 */

const ROOT = join(__dirname, '..', '..');
const TEMPLATE = join(ROOT, '.serverless', 'cloudformation-template-update-stack.json');

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface RoutedPattern {
  'detail-type'?: string[];
  detail?: { eventSource?: string[]; eventName?: string[]; configRuleName?: unknown[] };
}

function packagedTemplate(): Record<string, Resource> {
  if (!existsSync(TEMPLATE))
    throw new Error('run `npx serverless package --stage dev --region us-east-1` first');
  return (JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

const logicalName = (functionName: string) =>
  `${functionName.replace(/-/g, 'Dash').replace(/^./, (first) => first.toUpperCase())}LambdaFunction`;

/** The EventBridge rules (patterns and schedules) that target one rule's function. */
const eventRulesOf = (resources: Record<string, Resource>, ruleId: string) =>
  Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::Events::Rule')
    .filter((resource) => JSON.stringify(resource.Properties.Targets).includes(logicalName(ruleId)));

/** A minimal CloudTrail record: enough for the adapter to find (or refuse) its mapping. */
const record = (eventName: string, eventSource: string) => ({
  eventName,
  eventSource,
  eventID: '0b1c2d3e-0000-4000-8000-000000000001',
  eventTime: '2026-01-01T00:00:00Z',
  awsRegion: 'us-east-1',
  recipientAccountId: '123456789012',
  userIdentity: { type: 'IAMUser' },
});

/** The field a ValidationError names, or undefined when the record parsed (or failed elsewhere). */
const refusedField = (eventName: string, eventSource: string): string | undefined => {
  try {
    parseCloudTrailRecord(record(eventName, eventSource));
    return undefined;
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
};

/** Every (eventSource, eventName) the packaged stack routes to a rule's function. */
const routedCalls = (resources: Record<string, Resource>, ruleId: string) =>
  eventRulesOf(resources, ruleId)
    .map((resource) => resource.Properties.EventPattern as RoutedPattern | undefined)
    .filter((pattern) => pattern?.['detail-type']?.includes('AWS API Call via CloudTrail'))
    .flatMap((pattern) =>
      (pattern?.detail?.eventName ?? []).map((eventName) => ({
        eventName,
        eventSources: pattern?.detail?.eventSource ?? [],
      })),
    );

describe('the CloudTrail events each rule declares', () => {
  const resources = packagedTemplate();

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: every event name it routes has a resource mapping for the service it is routed from',
    (id) => {
      for (const { eventName, eventSources } of routedCalls(resources, id)) {
        // Assess: the adapter finds the mapping (a missing one dead-letters every routed event)
        expect(eventSources).toHaveLength(1);
        const [eventSource = ''] = eventSources;
        expect({ eventName, eventSource, refused: refusedField(eventName, eventSource) }).not.toMatchObject({
          refused: expect.stringMatching(/eventName$|eventSource$/),
        });
      }
    },
  );

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: a call of the same name from another service is refused, not judged',
    (_id, rule) => {
      for (const eventName of rule.triggers.cloudTrail?.eventNames ?? []) {
        // Act: DeleteRule, UpdateTable... exist in several services (a service other than the call's own)
        const own = resourceTypes.flatMap((resource) => resource.calls[eventName]?.eventSource ?? []);
        const foreign = own.includes('elasticloadbalancing.amazonaws.com')
          ? 'events.amazonaws.com'
          : 'elasticloadbalancing.amazonaws.com';
        const refused = refusedField(eventName, foreign);
        // Assess
        expect({ eventName, refused }).toEqual({ eventName, refused: 'eventSource' });
      }
    },
  );
});

/**
 * What a rule's resource types lack, in words (empty when nothing): the pieces a new rule or a new
 * resource type could forget. A pure function of what is declared, so a test-local fake proves
 * each check fails when its piece is missing.
 */
function missingPieces(rule: Rule, types: readonly ResourceType[]): string[] {
  const declared = (type: string) => types.find((resource) => resource.type === type);
  const judged = typesJudgedBy(rule);
  const missing: string[] = [];
  // A rule no exemption may silence needs neither (self-protection judges its stack's types by
  // the call, each declared with its calls below).
  for (const type of rule.neverExempt ? [] : judged) {
    const resource = declared(type);
    if (!resource) missing.push(`${type}: no module in shared/resources`);
    // The ARN pattern is both the parser and what `exemptions add` accepts.
    else if (!resource.arn) missing.push(`${type}: no ARN pattern`);
  }
  for (const type of rule.triggers.configResourceTypes ?? []) {
    if (!judged.includes(type)) missing.push(`${type}: evaluated by its Config rule but not judged`);
    if (!isRecordedByConfig(type)) continue;
    if (!declared(type)?.configItem) missing.push(`${type}: no configuration-item reader`);
    if (!rule.fromConfigItem?.[type]) missing.push(`${type}: no configuration-item mapping in the rule`);
  }
  for (const eventName of rule.triggers.cloudTrail?.eventNames ?? []) {
    if (!types.some((resource) => Object.hasOwn(resource.calls, eventName)))
      missing.push(`${eventName}: no resource type maps this call`);
  }
  return missing;
}

describe('the resource types each rule judges', () => {
  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: each has its module, ARN pattern (unless never exempt), configuration-item mapping (if Config records it) and call mappings',
    (_id, rule) => {
      // Assess: a missing ARN pattern makes `exemptions add` refuse, a missing call mapping
      // dead-letters the event, a missing item mapping leaves a Config item unjudgeable
      expect(missingPieces(rule, resourceTypes)).toEqual([]);
    },
  );

  describe('the check itself, on a fake rule and resource type', () => {
    const WIDGET = 'AWS::Demo::Widget';
    const widget: ResourceType = {
      type: WIDGET,
      arn: { service: 'demo', resource: /^widget\/w-[0-9a-f]+$/, plural: 'widgets' },
      calls: {
        CreateWidget: { eventSource: 'demo.amazonaws.com', resourceIds: () => ['w-1'] },
      },
      configItem: (item) => item.configuration,
    };
    const widgetRule = (overrides: Partial<Rule> = {}): Rule =>
      defineRule<unknown>({
        id: 'demo-widget-check',
        title: 'Widget check',
        severity: 'LOW',
        hipaa: [],
        runbook: 'docs/runbooks/demo-widget-check.md',
        readme: { enforce: 'nothing' },
        defaultMode: 'notify',
        resourceType: WIDGET,
        triggers: {
          cloudTrail: { eventNames: ['CreateWidget'] },
          configResourceTypes: [WIDGET],
          schedule: 'rate(1 hour)',
        },
        permissions: [],
        fromConfigItem: { [WIDGET]: () => undefined },
        load: async () => undefined,
        async *list() {},
        detect: () => ({ compliant: true }),
        remediate: async () => undefined,
        ...overrides,
      });

    it('passes a rule and type that declare every piece', () => {
      // Assess
      expect(missingPieces(widgetRule(), [widget])).toEqual([]);
    });

    it.each([
      [
        'a module',
        [],
        [
          `${WIDGET}: no module in shared/resources`,
          `${WIDGET}: no configuration-item reader`,
          'CreateWidget: no resource type maps this call',
        ],
      ],
      ['an ARN pattern', [{ ...widget, arn: undefined }], [`${WIDGET}: no ARN pattern`]],
      [
        'a configuration-item reader',
        [{ ...widget, configItem: undefined }],
        [`${WIDGET}: no configuration-item reader`],
      ],
      ['a call mapping', [{ ...widget, calls: {} }], ['CreateWidget: no resource type maps this call']],
    ] as const)('fails when the resource type lacks %s', (_piece, types, expected) => {
      // Act / Assess
      expect(missingPieces(widgetRule(), types)).toEqual(expected);
    });

    it('fails when the rule maps no configuration item of a type its Config rule evaluates', () => {
      // Act / Assess
      expect(missingPieces(widgetRule({ fromConfigItem: undefined }), [widget])).toEqual([
        `${WIDGET}: no configuration-item mapping in the rule`,
      ]);
    });

    it('asks no item mapping of the account pseudo type, which Config never records', () => {
      // Prepare
      const account: ResourceType = { ...widget, type: 'AWS::::Account', configItem: undefined };
      const rule = widgetRule({
        resourceType: 'AWS::::Account',
        triggers: { configResourceTypes: ['AWS::::Account'], schedule: 'rate(1 hour)' },
        fromConfigItem: undefined,
      });
      // Act / Assess
      expect(missingPieces(rule, [account])).toEqual([]);
    });

    it('fails when its Config rule evaluates a type the rule does not judge', () => {
      // Prepare
      const rule = widgetRule({
        triggers: { configResourceTypes: [WIDGET, 'AWS::Demo::Gadget'], schedule: 'rate(1 hour)' },
      });
      // Act / Assess
      expect(missingPieces(rule, [widget])).toEqual([
        'AWS::Demo::Gadget: evaluated by its Config rule but not judged',
        'AWS::Demo::Gadget: no configuration-item reader',
        'AWS::Demo::Gadget: no configuration-item mapping in the rule',
      ]);
    });
  });

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: each CloudTrail call it listens to names a resource it judges',
    (_id, rule) => {
      if (rule.neverExempt) return; // self-protection judges each of its stack's types by the call
      for (const eventName of rule.triggers.cloudTrail?.eventNames ?? []) {
        // Assess: a name two types share (CreateLoadBalancer, v2 and Classic) may name either
        const types = resourceTypes.filter((resource) => Object.hasOwn(resource.calls, eventName));
        const judged = types.some((resource) => typesJudgedBy(rule).includes(resource.type));
        expect({ eventName, judged: types.length > 0 && judged }).toEqual({
          eventName,
          judged: true,
        });
      }
    },
  );

  it('maps each CloudTrail event name of one service for one resource type only, unless each mapping tells its records apart', () => {
    // Assess: Elastic Load Balancing v2 and Classic share CreateLoadBalancer, told apart by `accepts`;
    // Lambda's and EventBridge's RemovePermission are two services' calls
    const mappings = resourceTypes.flatMap((resource) => Object.entries(resource.calls));
    const names = mappings.map(([name, call]) => `${call.eventSource} ${name}`);
    const shared = names.filter((name, index) => names.indexOf(name) !== index);
    const untold = mappings.filter(
      ([name, call]) => shared.includes(`${call.eventSource} ${name}`) && !call.accepts,
    );
    expect(untold.map(([name]) => name)).toEqual([]);
  });
});

describe('what else each rule declares is what the stack deploys', () => {
  const resources = packagedTemplate();

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    "%s: the stack sweeps it on its declared schedule (the parameters' defaults)",
    (id, rule) => {
      // Prepare
      const schedules = eventRulesOf(resources, id)
        .map((resource) => resource.Properties.ScheduleExpression)
        .filter((expression) => expression !== undefined);
      // Assess
      expect(schedules).toEqual([rule.triggers.schedule]);
    },
  );

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: the stack routes the compliance changes of exactly the managed Config rules it declares',
    (id, rule) => {
      // Prepare
      const prefixes = eventRulesOf(resources, id)
        .map((resource) => resource.Properties.EventPattern as RoutedPattern | undefined)
        .filter((pattern) => pattern?.['detail-type']?.includes('Config Rules Compliance Change'))
        .flatMap((pattern) => pattern?.detail?.configRuleName ?? [])
        .map((name) => (name as { prefix?: string }).prefix ?? name);
      // Assess
      expect(prefixes.sort()).toEqual(
        (rule.triggers.managedConfigRules ?? []).map((managed) => managed.ruleName).sort(),
      );
    },
  );
});

describe('the shared modules name no rule', () => {
  /** Modules every rule goes through: a rule's knowledge belongs in its own module. */
  const SHARED = ['shared/aws/clients.ts', 'shared/triggers', 'shared/exemptions', 'shared/resources'];
  const files = SHARED.flatMap((path) =>
    path.endsWith('.ts')
      ? [path]
      : existsSync(join(ROOT, path))
        ? readdirSync(join(ROOT, path)).map((file) => `${path}/${file}`)
        : [],
  );

  /**
   * A rule id as a word, in code or in a comment. EC2's setting named ebs-encryption-by-default in
   * an anchored ARN pattern (/^...$/) is AWS's name, not a rule's.
   */
  const named = (id: string) => new RegExp(`(?<![\\w^-])${id}(?![\\w$-])`);

  it.each(files)('%s', (file) => {
    // Prepare
    const source = readFileSync(join(ROOT, file), 'utf8');
    // Assess: no rule id (a table keyed or filled by rule, a comment saying whose a client is)
    expect(rules.map((rule) => rule.id).filter((id) => named(id).test(source))).toEqual([]);
  });

  it('finds a rule id in a comment, and lets an anchored ARN pattern of the same name pass', () => {
    // Assess: the check itself can fail
    expect(named('self-protection').test("/** The responder's own alarms (self-protection). */")).toBe(true);
    expect(named('ebs-encryption-by-default').test('resource: /^ebs-encryption-by-default$/,')).toBe(false);
  });
});
