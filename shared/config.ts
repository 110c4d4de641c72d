import { z } from 'zod';
import { endpointIsLoopback } from './aws/clients';
import { ConfigurationError } from './errors';
import { Mode } from './model';

/**
 * Environment (from serverless.yml stage parameters) → typed, validated settings, read once at
 * cold start. Every field documents its default; an invalid value fails naming its variable.
 */

/** 'true' or 'false' exactly: the string "false" is never true. */
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', ''])
    .default(fallback ? 'true' : 'false')
    .transform((value) => (value === '' ? fallback : value === 'true'));

const positiveInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

const modeSchema = z.enum([Mode.Off, Mode.Notify, Mode.Enforce]);

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const commaList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const roleArnList = commaList.pipe(
  z.array(
    z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected IAM role ARNs, comma-separated'),
  ),
);

/** Variable name → schema. The names are the contract with serverless.yml and `.local/env.json`. */
const environmentSchema = z.object({
  /** The incidents table (DynamoDB). Required. */
  INCIDENT_TABLE: z.string().min(3),
  /** The alerts topic (SNS). Required. */
  ALERT_TOPIC_ARN: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$/, 'expected an SNS topic ARN'),
  /** Region of the responder's own table and topic. Default: AWS_REGION. */
  HOME_REGION: z.string().min(1),
  /** Roles the stack creates; CloudTrail events made through them are ignored (loop guard). */
  RESPONDER_ROLE_ARNS: roleArnList,
  /** KMS key (id, alias or ARN) for EBS encryption; empty keeps the AWS-managed key aws/ebs. */
  EBS_KMS_KEY_ID: optionalString,
  /** More than this many remediations within the window trips the guard (notify-only). Default: 10. */
  GUARD_THRESHOLD: positiveInt(10, 10_000),
  /** The guard's window in minutes. Default: 60. */
  GUARD_WINDOW_MINUTES: positiveInt(60, 10_080),
  /** Tag whose value is the exemption's reason. Default: compliance-responder:exempt. */
  EXEMPT_TAG: z.string().min(1).max(127).default('compliance-responder:exempt'),
  /** Tag whose value is the exemption's expiry (ISO date). Default: compliance-responder:exempt-until. */
  EXEMPT_UNTIL_TAG: z.string().min(1).max(127).default('compliance-responder:exempt-until'),
  /** How long incidents are kept (DynamoDB TTL). Default: 2192 days, HIPAA's six years. */
  INCIDENT_RETENTION_DAYS: positiveInt(2192, 36_500),
  /** Base of the runbook links in incidents and alerts. */
  RUNBOOK_BASE_URL: z
    .url()
    .default('https://github.com/compliance-responder/compliance-responder/blob/main/docs/runbooks'),
  /** Send Config PutEvaluations with TestMode (local emulators only; refused unless the endpoint is loopback). */
  CONFIG_TEST_MODE: flag(false),
  /** Mark the logs and alerts of a stage. Default: dev. */
  STAGE: z.string().min(1).default('dev'),
});

export type Settings = Readonly<ReturnType<typeof toSettings>>;

/** A rule as configuration sees it: its id and the mode it runs in unless MODE_<ID> says otherwise. */
export interface ModeDefault {
  readonly id: string;
  readonly defaultMode: Mode;
}

/** `ebs-encryption-by-default` → `MODE_EBS_ENCRYPTION_BY_DEFAULT`. */
export const modeVariable = (ruleId: string): string => `MODE_${ruleId.toUpperCase().replaceAll('-', '_')}`;

function toSettings(env: z.infer<typeof environmentSchema>, modes: Readonly<Record<string, Mode>>) {
  return {
    incidentTable: env.INCIDENT_TABLE,
    alertTopicArn: env.ALERT_TOPIC_ARN,
    homeRegion: env.HOME_REGION,
    responderRoleArns: env.RESPONDER_ROLE_ARNS,
    /** Mode of each rule, by rule id: off | notify | enforce. */
    modes,
    ebsKmsKeyId: env.EBS_KMS_KEY_ID,
    guard: { threshold: env.GUARD_THRESHOLD, windowMinutes: env.GUARD_WINDOW_MINUTES },
    exemptTag: env.EXEMPT_TAG,
    exemptUntilTag: env.EXEMPT_UNTIL_TAG,
    incidentRetentionDays: env.INCIDENT_RETENTION_DAYS,
    runbookBaseUrl: env.RUNBOOK_BASE_URL.replace(/\/$/, ''),
    configTestMode: env.CONFIG_TEST_MODE,
    stage: env.STAGE,
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
  return toSettings(parsed.data, modes);
}
