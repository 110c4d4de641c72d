import { loadSettings, modeVariable } from '../../shared/config';
import { ConfigurationError } from '../../shared/errors';
import { rules as registry } from '../../shared/rules';
import { ruleSetting, settingValues } from '../../shared/rules/settings';
import { flag } from '../../shared/setting-schemas';

const rules = [{ id: 'ebs-encryption-by-default', defaultMode: 'enforce' as const }];
const required = {
  AWS_REGION: 'eu-west-1',
  INCIDENT_TABLE: 'compliance-responder-dev-incidents',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:compliance-responder-dev-alerts',
};

function failureOf(
  env: Record<string, string>,
  given: Parameters<typeof loadSettings>[0] = registry,
): ConfigurationError {
  try {
    loadSettings(given, { ...required, ...env });
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('settings from the environment', () => {
  it('fills every documented default', () => {
    // Act
    const settings = loadSettings(rules, required);
    // Assess
    expect(settings).toMatchObject({
      homeRegion: 'eu-west-1',
      modes: { 'ebs-encryption-by-default': 'enforce' },
      guard: { threshold: 10, windowMinutes: 60 },
      exemptTag: 'compliance-responder:exempt',
      exemptUntilTag: 'compliance-responder:exempt-until',
      incidentRetentionDays: 2192,
      configTestMode: false,
      responderRoleArns: [],
    });
  });

  it('reads a rule mode from MODE_<RULE_ID>', () => {
    // Act
    const settings = loadSettings(rules, { ...required, MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify' });
    // Assess
    expect(modeVariable('ebs-encryption-by-default')).toBe('MODE_EBS_ENCRYPTION_BY_DEFAULT');
    expect(settings.modes['ebs-encryption-by-default']).toBe('notify');
  });

  it.each([
    [{ MODE_EBS_ENCRYPTION_BY_DEFAULT: 'enforced' }, 'MODE_EBS_ENCRYPTION_BY_DEFAULT'],
    [{ GUARD_THRESHOLD: 'ten' }, 'GUARD_THRESHOLD'],
    [{ GUARD_THRESHOLD: '0' }, 'GUARD_THRESHOLD'],
    [{ ALERT_TOPIC_ARN: 'alerts' }, 'ALERT_TOPIC_ARN'],
    [{ INCIDENT_TABLE: '' }, 'INCIDENT_TABLE'],
    [{ RESPONDER_ROLE_ARNS: 'arn:aws:iam::111122223333:user/alice' }, 'RESPONDER_ROLE_ARNS'],
    [{ CONFIG_TEST_MODE: 'yes' }, 'CONFIG_TEST_MODE'],
  ])('refuses %j naming the setting', (env, setting) => {
    // Act
    const error = failureOf(env);
    // Assess
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(setting);
  });

  it.each([
    [{ GUARD_THRESHOLD: '0' }, 'Invalid setting GUARD_THRESHOLD: Too small: expected number to be >=1'],
    [
      { INCIDENT_TABLE: 'ab' },
      'Invalid setting INCIDENT_TABLE: Too small: expected string to have >=3 characters',
    ],
  ])('says what %j should have been', (env, message) => {
    // Act
    const error = failureOf(env);
    // Assess
    expect(error.message).toBe(message);
  });

  it('never reads the string "false" as true', () => {
    // Act
    const settings = loadSettings(rules, { ...required, CONFIG_TEST_MODE: 'false' });
    // Assess
    expect(settings.configTestMode).toBe(false);
  });

  it('refuses Config test mode unless the endpoint is a local emulator', () => {
    // Act
    const remote = failureOf({
      CONFIG_TEST_MODE: 'true',
      AWS_ENDPOINT_URL: 'https://config.eu-west-1.amazonaws.com',
    });
    const local = loadSettings(rules, {
      ...required,
      CONFIG_TEST_MODE: 'true',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
    });
    // Assess
    expect(remote.setting).toBe('CONFIG_TEST_MODE');
    expect(failureOf({ CONFIG_TEST_MODE: 'true' }).setting).toBe('CONFIG_TEST_MODE');
    expect(local.configTestMode).toBe(true);
  });

  it('splits the responder role list', () => {
    // Act
    const settings = loadSettings(rules, {
      ...required,
      RESPONDER_ROLE_ARNS: 'arn:aws:iam::111122223333:role/a, arn:aws:iam::111122223333:role/path/b',
    });
    // Assess
    expect(settings.responderRoleArns).toEqual([
      'arn:aws:iam::111122223333:role/a',
      'arn:aws:iam::111122223333:role/path/b',
    ]);
  });
});

describe('settings of the rules to come', () => {
  it('have documented defaults', () => {
    // Act
    const settings = loadSettings(registry, required);
    // Assess
    expect(settings).toMatchObject({
      stackName: 'compliance-responder-dev',
      deployRoleArns: [],
      workflowStuckMinutes: 360,
      ssh: {
        ports: [22],
        grantTtlMinutes: 60,
        grantMaxTtlMinutes: 720,
        grantTag: 'compliance-responder:ssh-grant',
      },
    });
    expect(Object.fromEntries(settings.ruleSettings)).toMatchObject({
      EBS_IN_USE_ACTION: 'snapshot-only',
      EBS_DELETE_ORIGINAL: false,
      PHI_SCOPE: { kind: 'tag', key: 'phi', value: 'true' },
      TENANCY_ACTION: 'stop',
      RECREATE_DELETED_TRAIL: false,
    });
  });

  it('parse the PHI scope and the SSH ports', () => {
    // Act
    const settings = loadSettings(registry, { ...required, PHI_SCOPE: 'all', SSH_PORTS: '22, 3389' });
    const tagged = loadSettings(registry, { ...required, PHI_SCOPE: 'tag:data-class=phi=restricted' });
    // Assess
    expect(settings.ruleSettings.get('PHI_SCOPE')).toEqual({ kind: 'all' });
    expect(settings.ssh.ports).toEqual([22, 3389]);
    expect(tagged.ruleSettings.get('PHI_SCOPE')).toEqual({
      kind: 'tag',
      key: 'data-class',
      value: 'phi=restricted',
    });
  });

  it('parse a scope by tag presence, and the listener scope (every load balancer by default)', () => {
    // Act
    const settings = loadSettings(registry, { ...required, ELB_LISTENER_SCOPE: 'tag:phi' });
    const defaults = loadSettings(registry, required);
    // Assess
    expect(settings.ruleSettings.get('ELB_LISTENER_SCOPE')).toEqual({ kind: 'tag', key: 'phi' });
    expect(defaults.ruleSettings.get('ELB_LISTENER_SCOPE')).toEqual({ kind: 'all' });
    expect(() => loadSettings(registry, { ...required, ELB_LISTENER_SCOPE: 'phi' })).toThrow(
      'ELB_LISTENER_SCOPE',
    );
  });

  it.each([
    [{ PHI_SCOPE: 'phi' }, 'PHI_SCOPE'],
    [{ SSH_PORTS: '22,ssh' }, 'SSH_PORTS'],
    [{ SSH_PORTS: '70000' }, 'SSH_PORTS'],
    [{ TENANCY_ACTION: 'terminate' }, 'TENANCY_ACTION'],
    [{ EBS_IN_USE_ACTION: 'delete' }, 'EBS_IN_USE_ACTION'],
    [{ EBS_DELETE_ORIGINAL: 'False' }, 'EBS_DELETE_ORIGINAL'],
  ])('refuse %j naming the setting', (env, setting) => {
    // Act / Assess
    expect(failureOf(env).setting).toBe(setting);
  });
});

describe("a rule's own settings", () => {
  const strict = ruleSetting({
    parameter: 'demoStrict',
    variable: 'DEMO_STRICT',
    fallback: 'false',
    doc: 'demo',
    schema: flag,
  });
  const demo = { id: 'demo-rule', defaultMode: 'notify' as const, settings: { strict } };

  it('are parsed only for the rules given, and reading one never given fails instead of guessing', () => {
    // Act
    const mine = loadSettings([demo], { ...required, DEMO_STRICT: 'true' });
    const others = loadSettings(rules, { ...required, DEMO_STRICT: 'true' });
    // Assess
    expect(settingValues({ strict }, mine.ruleSettings)).toEqual({ strict: true });
    expect(() => settingValues({ strict }, others.ruleSettings)).toThrow(/DEMO_STRICT was not loaded/);
  });

  it('refuse a bad value naming the variable, and two declarations of one variable', () => {
    // Prepare
    const twin = { id: 'twin-rule', defaultMode: 'notify' as const, settings: { strict: { ...strict } } };
    // Assess
    expect(failureOf({ DEMO_STRICT: 'yes' }, [demo]).setting).toBe('DEMO_STRICT');
    expect(() => loadSettings([demo, twin], required)).toThrow(
      /two different settings are declared as DEMO_STRICT/,
    );
  });
});
