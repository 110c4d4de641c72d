import type { ReceivedAlert } from '../../scripts/lib/local-stack';
import type { Incident } from '../../shared/model';
import { rules } from '../../shared/rules';
import { LocalResponder, resetAccount } from '../support/local-responder';
import {
  ACTOR_SENTINEL,
  actorViolations,
  alertViolations,
  incidentViolations,
  leaks,
  outputCapture,
  SENTINEL,
} from './bounds';
import { writeFigures } from './figures';
import { ACCOUNT, outcomeProblems } from './scenario';
import { scenarioFor } from './scenarios';

/**
 * Secrets and PHI: every rule's drift seeded with sentinels wherever a caller controls text (tag
 * values and descriptions on the resource, the request's parameters, the session name and user
 * agent in the CloudTrail event), delivered to the bundled function in its own process, then a
 * sweep. What the process wrote (logs and result), the SNS alerts and the stored incidents never
 * hold a tag or request sentinel; the caller's identity is recorded (who did it) only in `actor`,
 * within its bound, and never logged.
 */
const SESSION = `${ACTOR_SENTINEL}-jane.doe@clinic.example`;
/** Longer than an actor field is stored (it is truncated), shorter than the adapter refuses. */
const USER_AGENT = `${ACTOR_SENTINEL} aws-cli/2.15.0 ${'x'.repeat(5_000)}`;
/** Where the sentinels go, for docs/reliability.md. */
const PLACES = ['tag values', 'descriptions', 'request parameters', 'session name', 'user agent'];

interface CloudTrailShape {
  detail?: {
    userIdentity?: Record<string, unknown>;
    userAgent?: string;
    requestParameters?: Record<string, unknown> | null;
  };
}

/** A CloudTrail event names a caller; a service event (an image scan) has none to carry sentinels. */
const namesCaller = (event: unknown): boolean => Boolean((event as CloudTrailShape).detail?.userIdentity);

/** The drift's CloudTrail event as an assumed-role session with sentinels in every caller-controlled field. */
function withCallerSentinels(event: unknown): unknown {
  const copy = structuredClone(event) as CloudTrailShape;
  const detail = copy.detail;
  if (!detail?.userIdentity) return copy;
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/clinic-admins`;
  detail.userIdentity = {
    type: 'AssumedRole',
    principalId: `AROAEXAMPLEROLEID0002:${SESSION}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/clinic-admins/${SESSION}`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAEXAMPLEKEYID0002',
    sessionContext: {
      sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEROLEID0002', arn: roleArn, accountId: ACCOUNT },
      attributes: { creationDate: new Date().toISOString(), mfaAuthenticated: 'true' },
    },
  };
  detail.userAgent = USER_AGENT;
  if (detail.requestParameters)
    Object.assign(detail.requestParameters, {
      description: `${SENTINEL} admitted 2026-11-23, ward 7`,
      tagSpecificationSet: { items: [{ tags: [{ key: 'patient', value: `${SENTINEL}-mrn-0042` }] }] },
    });
  return copy;
}

/** The incident or alert body without its `actor`: where an actor sentinel would be a leak. */
const withoutActor = (record: object) => JSON.stringify({ ...record, actor: undefined });

const figures = {
  rules: [] as string[],
  places: PLACES,
  outputBytes: 0,
  alerts: 0,
  incidents: 0,
  leaks: 0,
  actorLeaks: 0,
  boundViolations: 0,
};

afterAll(() => writeFigures('secrets', figures));

describe.each(rules.map((rule) => [rule.id, rule] as const))('secrets and PHI in %s', (id, rule) => {
  it('never logs, alerts or stores a sentinel, and keeps every field within its bound', async () => {
    // Prepare: the rule's scenario (a rule without one fails here, naming the file to write)
    const scenario = scenarioFor(rule);
    await resetAccount();
    // Every log level: deployed functions log at INFO (Powertools' default); local provisioning, at WARN.
    const responder = await LocalResponder.provision({ ...scenario.env, POWERTOOLS_LOG_LEVEL: 'DEBUG' });
    const drift = await scenario.seed();
    const output = outputCapture();
    // Act: the event, then the sweep that comes round
    // (Its logs share stdout with its result here, so the outcome is read from AWS, not from the result.)
    await responder.invokeBundle(id, withCallerSentinels(drift.event), output.env);
    await responder.invokeBundle(id, drift.sweep, output.env);
    const alerts: ReceivedAlert[] = await responder.alerts();
    const incidents: Incident[] = await responder.incidents();
    const logged = output.read();
    // Assess: the sentinel-carrying drift was really handled (remediated, or notified) and paged
    expect(incidents).toHaveLength(1);
    expect(await outcomeProblems(scenario, drift, incidents[0])).toEqual([]);
    expect(alerts.map((alert) => alert.body.incidentId)).toEqual([incidents[0]?.incidentId]);
    if (namesCaller(drift.event)) expect(incidents[0]?.actor?.arn).toContain(SESSION);
    // Assess: no tag, description or request sentinel anywhere
    const leaked = leaks([logged, JSON.stringify(alerts), JSON.stringify(incidents)]);
    // Assess: the caller's session and user agent only in `actor`, never in a log line
    const actorLeaked = [
      logged,
      ...incidents.map(withoutActor),
      ...alerts.map(
        (alert) => `${alert.subject} ${JSON.stringify(alert.attributes)} ${withoutActor(alert.body)}`,
      ),
    ].filter((text) => text.includes(ACTOR_SENTINEL));
    const violations = [
      ...incidents.flatMap(incidentViolations),
      ...alerts.flatMap(alertViolations),
      ...incidents.flatMap((incident) => actorViolations('incident', { ...incident.actor })),
      ...alerts.flatMap((alert) =>
        actorViolations('alert', alert.body.actor as Record<string, unknown> | undefined),
      ),
    ];
    Object.assign(figures, {
      outputBytes: figures.outputBytes + Buffer.byteLength(logged),
      alerts: figures.alerts + alerts.length,
      incidents: figures.incidents + incidents.length,
      leaks: figures.leaks + leaked.length,
      actorLeaks: figures.actorLeaks + actorLeaked.length,
      boundViolations: figures.boundViolations + violations.length,
    });
    expect(leaked).toEqual([]);
    expect(
      actorLeaked.map((text) =>
        text.slice(Math.max(0, text.indexOf(ACTOR_SENTINEL) - 80), text.indexOf(ACTOR_SENTINEL) + 40),
      ),
    ).toEqual([]);
    expect(violations).toEqual([]);
    expect(logged).toMatch(/"level": ?"INFO"/);
    figures.rules.push(id);
  });
});
