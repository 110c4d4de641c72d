import { EVENT_CASES } from '../../../bench/events';
import { rules } from '../../../shared/rules';

/** Issue 19's load balancer rules: the bench measures each of their triggers. */
const ELB_RULES = ['elb-listener-tls', 'elb-classic-listener-tls', 'elb-backend-encrypted'];

/** A row's trigger: its name starts with the call (`CreateLoadBalancer (v2), ...`, `AddTags setting ...`). */
const isRowOf = (name: string, eventName: string) =>
  name.startsWith(`${eventName},`) || name.startsWith(`${eventName} `);

/** The rows that deliver a drift to this function, each with a named minimum above 0. */
const measuredRowsOf = (id: string) =>
  EVENT_CASES.filter((eventCase) => eventCase.fn === id && eventCase.minimum.calls > 0);

describe('the bench event cases', () => {
  it('have one name each: the headline keys its per-event figures by name', () => {
    // Prepare
    const names = EVENT_CASES.map((eventCase) => eventCase.name);
    // Act
    const repeated = names.filter((name, index) => names.indexOf(name) !== index);
    // Assess
    expect(repeated).toEqual([]);
  });

  it('name each minimum they count', () => {
    // Act
    const unnamed = EVENT_CASES.filter((eventCase) => eventCase.minimum.named.trim() === '');
    // Assess
    expect(unnamed).toEqual([]);
  });

  it.each(ELB_RULES)('give %s a measured row for each of its CloudTrail triggers (issue 19)', (id) => {
    // Prepare
    const rule = rules.find((each) => each.id === id);
    const rows = measuredRowsOf(id);
    // Act
    const missing = (rule?.triggers.cloudTrail?.eventNames ?? []).filter(
      (eventName) => !rows.some((row) => isRowOf(row.name, eventName)),
    );
    // Assess
    expect(rule?.triggers.cloudTrail?.eventNames.length).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it('give a compliance change of a managed Config rule paired with a load balancer rule a measured row', () => {
    // Prepare
    const paired = rules
      .filter((rule) => ELB_RULES.includes(rule.id))
      .flatMap((rule) =>
        (rule.triggers.managedConfigRules ?? []).map((managed) => ({
          id: rule.id,
          ruleName: managed.ruleName,
        })),
      );
    // Act
    const measured = paired.filter(({ id, ruleName }) =>
      measuredRowsOf(id).some((row) => row.name.startsWith(`${ruleName} `)),
    );
    // Assess
    expect(measured.length).toBeGreaterThan(0);
  });
});
