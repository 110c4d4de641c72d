import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Each function loads its own rule module first (functions/<id>.ts). A rule module that reaches the
 * registry (shared/rules/index.ts) through its imports makes the registry list itself before its own
 * export is set: the list holds `undefined` for it, and whatever walks the registry in that function
 * (exemption patterns, never-exempt checks) fails at run time. Loaded here the same way, one module
 * at a time in a fresh module registry.
 */
const ROOT = join(__dirname, '..', '..', '..');
const RULES = join(ROOT, 'shared', 'rules');
const ruleModules = readdirSync(join(ROOT, 'functions'))
  // Functions that are not rules (heartbeat, incident-events) have no module in shared/rules.
  .filter((file) => file.endsWith('.ts') && existsSync(join(RULES, file)))
  .map((file) => file.replace(/\.ts$/, ''));

/** What a function or a test may load first: the function itself, its rule, the sweep's listings then the rule. */
const LISTINGS = join(ROOT, 'shared', 'pipeline', 'listings');
const entries = ruleModules.flatMap((id) => [
  [`functions/${id}`, [join(ROOT, 'functions', id)]],
  [`shared/rules/${id}`, [join(RULES, id)]],
  [`the listings, then shared/rules/${id}`, [LISTINGS, join(RULES, id)]],
]) as [string, string[]][];

it.each(entries)('leaves the registry whole when %s is loaded first', (_name, modules) => {
  // Prepare: the environment a deployed function starts with
  const env = { ...process.env };
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    INCIDENT_TABLE: 'incidents',
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
  });
  // Act
  let registry: readonly unknown[] = [];
  try {
    jest.isolateModules(() => {
      for (const module of modules) require(module);
      registry = (require(join(RULES, 'index')) as { rules: readonly unknown[] }).rules;
    });
  } finally {
    process.env = env;
  }
  // Assess
  expect(registry.length).toBeGreaterThan(0);
  expect(registry.map((rule) => typeof rule)).not.toContain('undefined');
});
