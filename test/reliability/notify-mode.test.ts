import { rules } from '../../shared/rules';
import { FaultProxy } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { countBy, ruleWrites, runCase } from './fault-suite';
import { writeFigures } from './figures';
import { inNotifyMode, MAX_ATTEMPTS, outcomeProblems } from './scenario';
import { scenarioFor } from './scenarios';

/**
 * Every rule accepts notify mode (a notify-only rule runs in it always): its drift, delivered and
 * then swept, ends in one open incident that says notify mode, one alert for it, and no change to
 * anything (no write of the rule's reached AWS; the resource still reads as drifted).
 */
const figures = { rules: [] as string[], incidents: 0, alerts: 0, writes: 0, faultsSurvived: 0 };
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
});

afterAll(async () => {
  await proxy.close();
  writeFigures('notify-mode', figures);
});

describe.each(rules.map((rule) => [rule.id, rule] as const))('%s in notify mode', (id, rule) => {
  it('opens one incident, pages once and changes nothing', async () => {
    // Prepare: the rule's scenario with MODE_<ID>=notify, its calls seen through the (pass-through) proxy
    const scenario = inNotifyMode(scenarioFor(rule));
    await resetAccount();
    const responder = await LocalResponder.provision({ AWS_ENDPOINT_URL: proxy.url, ...scenario.env });
    const drift = await scenario.seed();
    proxy.arm();
    // Act: the event, then the sweep that comes round
    const delivered = await responder.invokeBundle(id, drift.event);
    const swept = await responder.invokeBundle(id, drift.sweep);
    const writes = ruleWrites(proxy.calls).map((call) => call.action);
    const incidents = await responder.incidents();
    const alerts = await responder.alerts();
    Object.assign(figures, {
      incidents: figures.incidents + incidents.length,
      alerts: figures.alerts + alerts.length,
      writes: figures.writes + writes.length,
    });
    // Assess
    expect([delivered.ok, swept.ok]).toEqual([true, true]);
    expect(writes).toEqual([]);
    expect(incidents).toHaveLength(1);
    expect(await outcomeProblems(scenario, drift, incidents[0])).toEqual([]);
    expect(alerts.map((alert) => alert.body.incidentId)).toEqual([incidents[0]?.incidentId]);
    expect(await drift.kept()).toBe(true);
    figures.rules.push(id);
  });
});

describe.each(rules.filter((rule) => rule.defaultMode === 'notify').map((rule) => [rule.id, rule] as const))(
  '%s, notify by default, with its alert failing',
  (id, rule) => {
    it('pages once the alert gets through, and still changes nothing', async () => {
      // Prepare: the clean run's calls bound the retries
      const scenario = inNotifyMode(scenarioFor(rule));
      await resetAccount();
      const responder = await LocalResponder.provision({ AWS_ENDPOINT_URL: proxy.url, ...scenario.env });
      const drift = await scenario.seed();
      proxy.arm();
      await responder.invokeBundle(id, drift.event);
      const clean = countBy(proxy.calls);
      // Act: the alert fails through every retry, then a redelivery and the sweep (the fault suite's case)
      const result = await runCase(
        proxy,
        scenario,
        { action: 'sns:Publish', nth: 1, kind: 'http500', times: MAX_ATTEMPTS },
        clean,
      );
      // Assess
      expect(result).toMatchObject({ injected: true, outcome: 'notified', problems: [] });
      figures.faultsSurvived += 1;
    }, 120_000);
  },
);
