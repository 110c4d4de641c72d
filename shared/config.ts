import { endpointIsLoopback } from './aws/clients';
import { parseSweepRegions } from './aws/regions';
import { ConfigurationError, errorMessage } from './errors';
import { Mode } from './model';
import type { ParsedRuleSettings, RuleSetting, RuleSettings } from './rules/settings';
import { commaList, optionalString, positiveInt } from './setting-schemas';
import * as z from './zod';

/**
 * Environment (from serverless.yml stage parameters) → typed, validated settings, read once at
 * cold start. Every field documents its default; an invalid value fails naming its variable.
 */

/** A boolean variable: exactly 'true' or 'false'; empty means the default. */
const flagOr = (fallback: boolean) =>
  z.pipe(
    z._default(z.enum(['true', 'false', '']), fallback ? 'true' : 'false'),
    z.transform((value) => (value === '' ? fallback : value === 'true')),
  );

const modeSchema = z.enum([Mode.Off, Mode.Notify, Mode.Enforce]);

const roleArnList = z.pipe(
  commaList,
  z.array(
    z
      .string()
      .check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected IAM role ARNs, comma-separated')),
  ),
);

/** Variable name → schema. The names are the contract with serverless.yml and `.local/env.json`. */
const environmentSchema = z.object({
  /** The incidents table (DynamoDB). Required. */
  INCIDENT_TABLE: z.string().check(z.minLength(3)),
  /** The alerts topic (SNS). Required. */
  ALERT_TOPIC_ARN: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$/, 'expected an SNS topic ARN')),
  /** Region of the responder's own table and topic. Default: AWS_REGION. */
  HOME_REGION: z.string().check(z.minLength(1)),
  /** Roles the stack creates; CloudTrail events made through them are ignored (loop guard). */
  RESPONDER_ROLE_ARNS: roleArnList,
  /** More than this many remediations (each drift once a window) within the window trips the guard (notify-only). Default: 10. */
  GUARD_THRESHOLD: positiveInt(10, 10_000),
  /** The guard's window in minutes. Default: 60. */
  GUARD_WINDOW_MINUTES: positiveInt(60, 10_080),
  /** Tag whose value is the exemption's reason. Default: compliance-responder:exempt. */
  EXEMPT_TAG: z._default(z.string().check(z.minLength(1), z.maxLength(127)), 'compliance-responder:exempt'),
  /** Tag whose value is the exemption's expiry (ISO date). Default: compliance-responder:exempt-until. */
  EXEMPT_UNTIL_TAG: z._default(
    z.string().check(z.minLength(1), z.maxLength(127)),
    'compliance-responder:exempt-until',
  ),
  /** How long incidents are kept (DynamoDB TTL). Default: 2192 days, HIPAA's six years. */
  INCIDENT_RETENTION_DAYS: positiveInt(2192, 36_500),
  /** Base of the runbook links in incidents and alerts. */
  RUNBOOK_BASE_URL: z._default(
    z.url(),
    'https://github.com/compliance-responder/compliance-responder/blob/main/docs/runbooks',
  ),
  /** Send Config PutEvaluations with TestMode (local emulators only; refused unless the endpoint is loopback). */
  CONFIG_TEST_MODE: flagOr(false),
  /** Mark the logs and alerts of a stage. Default: dev. */
  STAGE: z._default(z.string().check(z.minLength(1)), 'dev'),
  /** The responder's own CloudFormation stack (self-protection). Default: compliance-responder-<STAGE>. */
  STACK_NAME: optionalString,
  /** Roles allowed to change the responder's own stack (its deploy role); others raise an alert. */
  DEPLOY_ROLE_ARNS: roleArnList,
  /** Regions the scheduled sweep covers: all-enabled (default), own-region, or region names. */
  SWEEP_REGIONS: z.pipe(
    z._default(z.string(), 'all-enabled'),
    z.transform((value, context) => {
      try {
        return parseSweepRegions(value);
      } catch (error) {
        context.issues.push({ code: 'custom', message: errorMessage(error), input: value });
        return z.NEVER;
      }
    }),
  ),
  /**
   * Where a scheduled sweep's units go: the queue URLs' common start, up to `<stack>-`; a rule's
   * queue is `<prefix><rule id>-sweep`. Unset: the sweep runs inline, region after region (local runs).
   */
  SWEEP_QUEUE_PREFIX: optionalString,
  /** How many resources one sweep unit judges before it hands the rest of its listing on. Default: 500. */
  SWEEP_UNIT_RESOURCES: positiveInt(500, 10_000),
  /** The stack created AWS Config custom rules (<stack>-<rule id>): re-evaluate them after a fix. */
  CONFIG_RULES: flagOr(false),
  /**
   * An organisation deployment's organisation (o-...): events of its ACTIVE member accounts are acted
   * on through each rule's member role there (docs/organisation.md). Unset: this account only.
   */
  ORGANIZATION_ID: z.pipe(
    optionalString,
    z.optional(
      z
        .string()
        .check(
          z.regex(/^o-[a-z0-9]{10,32}$/, 'expected an organisation id (o- and 10 to 32 letters or digits)'),
        ),
    ),
  ),

  /**
   * deployment: organisation - a member stack was deployed by hand in the organisation's management
   * account (a service-managed StackSet never deploys there): act there like in any member. Default:
   * false, the management account is never swept and its events are refused.
   */
  MANAGEMENT_ACCOUNT_MEMBER: flagOr(false),

  /** A remediation untouched this long was interrupted (its process died) and is resumed. Default: 300. */
  REMEDIATION_STALE_SECONDS: positiveInt(300, 86_400),
  /** Any remediation workflow waiting longer than this fails and pages (stuck). Default: 360 minutes. */
  WORKFLOW_STUCK_MINUTES: positiveInt(360, 10_080),

  // ── ssh-open-to-world, ssh-grant-expired ──
  /** Ports whose exposure counts as SSH exposure. Default: 22 (add 3389 for RDP). */
  SSH_PORTS: z.pipe(
    z.pipe(
      z._default(
        z
          .string()
          .check(z.regex(/^\s*\d{1,5}(\s*,\s*\d{1,5})*\s*$/, 'expected port numbers, comma-separated')),
        '22',
      ),
      z.transform((value) => value.split(',').map((port) => Number(port.trim()))),
    ),
    z.array(z.number().check(z.int(), z.minimum(0), z.maximum(65_535))).check(z.minLength(1)),
  ),
  /** Length of an SSH grant when none is asked for, in minutes. Default: 60. */
  SSH_GRANT_TTL_MINUTES: positiveInt(60, 10_080),
  /** The longest SSH grant anyone may issue, in minutes. Default: 720 (12 hours). */
  SSH_GRANT_MAX_TTL_MINUTES: positiveInt(720, 10_080),
  /** Tag on a granted security-group rule whose value is its grant id (the ledger holds the truth). */
  SSH_GRANT_TAG: z._default(
    z.string().check(z.minLength(1), z.maxLength(127)),
    'compliance-responder:ssh-grant',
  ),
});

export type Settings = Readonly<ReturnType<typeof toSettings>>;

/** Every variable the settings read (besides each rule's mode): the contract tests walk them. */
export const SETTING_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

/** A rule as configuration sees it: its id, the mode it runs in unless MODE_<ID> says otherwise, its settings. */
export interface ModeDefault {
  readonly id: string;
  readonly defaultMode: Mode;
  readonly settings?: RuleSettings;
}

/** `ebs-encryption-by-default` → `MODE_EBS_ENCRYPTION_BY_DEFAULT`. */
export const modeVariable = (ruleId: string): string => `MODE_${ruleId.toUpperCase().replaceAll('-', '_')}`;

/** `ebs-encryption-by-default` → `ebsEncryptionByDefault`: the rule's export, and its mode parameter's stem. */
export const camelCaseId = (ruleId: string): string =>
  ruleId.replace(/-([a-z0-9])/g, (_dash, letter: string) => letter.toUpperCase());

/** `ebs-encryption-by-default` → `ebsEncryptionByDefaultMode`: the stage parameter serverless.yml reads. */
export const modeParameter = (ruleId: string): string => `${camelCaseId(ruleId)}Mode`;

function toSettings(
  env: z.infer<typeof environmentSchema>,
  modes: Readonly<Record<string, Mode>>,
  ruleSettings: ParsedRuleSettings,
) {
  return {
    incidentTable: env.INCIDENT_TABLE,
    alertTopicArn: env.ALERT_TOPIC_ARN,
    homeRegion: env.HOME_REGION,
    responderRoleArns: env.RESPONDER_ROLE_ARNS,
    /** Mode of each rule, by rule id: off | notify | enforce. */
    modes,
    guard: { threshold: env.GUARD_THRESHOLD, windowMinutes: env.GUARD_WINDOW_MINUTES },
    exemptTag: env.EXEMPT_TAG,
    exemptUntilTag: env.EXEMPT_UNTIL_TAG,
    incidentRetentionDays: env.INCIDENT_RETENTION_DAYS,
    runbookBaseUrl: env.RUNBOOK_BASE_URL.replace(/\/$/, ''),
    configTestMode: env.CONFIG_TEST_MODE,
    stage: env.STAGE,
    stackName: env.STACK_NAME ?? `compliance-responder-${env.STAGE}`,
    deployRoleArns: env.DEPLOY_ROLE_ARNS,
    sweepRegions: env.SWEEP_REGIONS,
    /** Scheduled sweeps as units on the rule's queue (shared/pipeline/sweep-units.ts); inline without a queue. */
    sweepUnits: { queuePrefix: env.SWEEP_QUEUE_PREFIX, resources: env.SWEEP_UNIT_RESOURCES },
    configRules: env.CONFIG_RULES,
    organizationId: env.ORGANIZATION_ID,
    managementAccountMember: env.MANAGEMENT_ACCOUNT_MEMBER,
    /** Any rule's remediation still waiting after this long fails and pages. */
    workflowStuckMinutes: env.WORKFLOW_STUCK_MINUTES,
    remediationStaleSeconds: env.REMEDIATION_STALE_SECONDS,
    ssh: {
      ports: env.SSH_PORTS,
      grantTtlMinutes: env.SSH_GRANT_TTL_MINUTES,
      grantMaxTtlMinutes: env.SSH_GRANT_MAX_TTL_MINUTES,
      grantTag: env.SSH_GRANT_TAG,
    },
    /** Each rule's own settings (shared/rules/settings.ts), parsed by variable: read through settingValues. */
    ruleSettings,
  };
}

/** Reads and validates the environment. Throws ConfigurationError naming the first bad variable. */
export function loadSettings(rules: readonly ModeDefault[], env: NodeJS.ProcessEnv = process.env): Settings {
  const input = { HOME_REGION: env.AWS_REGION, ...env };
  const parsed = environmentSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const setting = String(issue?.path[0] ?? 'environment');
    throw new ConfigurationError(`Invalid setting ${setting}: ${issue?.message ?? 'invalid'}`, setting);
  }
  if (parsed.data.CONFIG_TEST_MODE && !endpointIsLoopback(env.AWS_ENDPOINT_URL)) {
    throw new ConfigurationError(
      'Invalid setting CONFIG_TEST_MODE: true is allowed only when AWS_ENDPOINT_URL points at a local emulator',
      'CONFIG_TEST_MODE',
    );
  }
  const modes: Record<string, Mode> = {};
  for (const rule of rules) {
    const variable = modeVariable(rule.id);
    const raw = env[variable];
    const mode = modeSchema.safeParse(raw === undefined || raw === '' ? rule.defaultMode : raw);
    if (!mode.success) {
      throw new ConfigurationError(`Invalid setting ${variable}: expected off, notify or enforce`, variable);
    }
    modes[rule.id] = mode.data;
  }
  return toSettings(parsed.data, modes, parseRuleSettings(rules, env));
}

/** Each rule's declared settings, parsed once per variable (two rules may share one declaration). */
function parseRuleSettings(rules: readonly ModeDefault[], env: NodeJS.ProcessEnv): ParsedRuleSettings {
  const declared = new Map<string, RuleSetting<unknown>>();
  for (const setting of rules.flatMap((rule) => Object.values(rule.settings ?? {}))) {
    const known = declared.get(setting.variable);
    if (known && known !== setting)
      throw new Error(`two different settings are declared as ${setting.variable}: share one declaration`);
    declared.set(setting.variable, setting);
  }
  const parsed = new Map<string, unknown>();
  for (const [variable, setting] of declared) {
    const raw = env[variable];
    const value = setting.schema.safeParse(raw === undefined || raw === '' ? setting.fallback : raw);
    if (!value.success)
      throw new ConfigurationError(
        `Invalid setting ${variable}: ${value.error.issues[0]?.message ?? 'invalid'}`,
        variable,
      );
    parsed.set(variable, value.data);
  }
  return parsed;
}
