import { createAwsClients } from '../../../shared/aws/clients';
import type { Incident, Observation } from '../../../shared/model';
import type { AccountAccess } from '../../../shared/organisation/accounts';
import { memberRoleName } from '../../../shared/organisation/member-roles';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { anIncident } from '../../support/incident';
import { lampRule, observation, pipelineFor } from '../../support/lamp';
import { MemoryIncidentStore } from '../../support/memory-store';

/**
 * The loop guard's member half (docs/organisation.md, "How a function acts in a member account",
 * point 4): a call made as a member role is the responder's own only while the incident its session
 * names is remediating that resource, or ended moments ago (CloudTrail delivers late). Anything else
 * is judged as anyone's call, naming the session that made it.
 */
const SECURITY = '999988887777';
const MEMBER = '111122223333';
const STACK = 'compliance-responder-test';
const INCIDENT = 'inc-20261123T101500-0a1b2c3d';

/** The security account's way into the member: the lamp needs no AWS, so any clients do. */
const accounts: AccountAccess = {
  own: async () => ({ accountId: SECURITY, partition: 'aws' }),
  isActiveMember: async (accountId) => accountId === MEMBER,
  activeMembers: async () => [MEMBER],
  activeMemberAccounts: async () => [{ accountId: MEMBER }],
  managementAccount: async () => undefined,
  clientsIn: async () => createAwsClients('us-east-1'),
};

/** CloudTrail's actor for a session of the lamp rule's member role in the member account. */
function asMemberRole(session: string, account = MEMBER): Observation['actor'] {
  const role = memberRoleName(STACK, 'ebs-encryption-by-default');
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    principalId: `AROAEXAMPLEROLEID0001:${session}`,
    accountId: account,
    sessionIssuerArn: `arn:aws:iam::${account}:role/${role}`,
  };
}

/**
 * The member's lamp turned off by a call made as the member role under `session` at `at`, judged
 * by the security account's pipeline at `now`, with the incident `stored` in its table.
 */
async function judgeCall(options: {
  stored: Incident;
  at: string;
  now: string;
  resourceId?: string;
  lampOn?: boolean;
  /** The account the call was made in: the member unless said. */
  account?: string;
}) {
  const world = { lamp: { on: options.lampOn ?? false } };
  const rule = lampRule(world, async (_resource, _finding, ctx) => {
    await ctx.step('TurnOn', async () => {
      world.lamp.on = true;
    });
  });
  const store = new MemoryIncidentStore();
  store.incidents.set(options.stored.incidentId, structuredClone(options.stored));
  const counted: string[] = [];
  const guard = { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard;
  guard.forAccount = () => guard;
  const { pipeline, only } = pipelineFor(rule, { STACK_NAME: STACK }, store, {
    accounts,
    guard,
    now: () => new Date(options.now),
    metrics: { count: (name) => counted.push(name) },
  });
  const call: Observation = {
    ...observation,
    accountId: options.account ?? MEMBER,
    resourceId: options.resourceId ?? observation.resourceId,
    observedAt: options.at,
    actor: asMemberRole(options.stored.incidentId, options.account),
  };
  const outcomes = await pipeline.handle({ kind: 'resources', observations: [call] });
  const opened = only().filter((incident) => incident.incidentId !== options.stored.incidentId);
  return { outcomes, opened, ignored: counted.includes('OwnEventsIgnored'), lamp: world.lamp };
}

/** The incident of the lamp in the member: opened 10:15:00, last written 10:15:02. */
const lampIncident = (overrides: Partial<Incident> = {}) =>
  anIncident({
    incidentId: INCIDENT,
    account: MEMBER,
    detectedAt: '2026-11-23T10:15:00.000Z',
    updatedAt: '2026-11-23T10:15:02.000Z',
    ...overrides,
  });

describe("the loop guard's member half", () => {
  it('ignores its own call on the resource while the incident it names is remediating', async () => {
    // Prepare: the call at 10:15:01, between the incident's opening and its last write
    const stored = lampIncident({ status: 'remediating' });
    // Act
    const judged = await judgeCall({ stored, at: '2026-11-23T10:15:01Z', now: '2026-11-23T10:16:00Z' });
    // Assess
    expect(judged).toMatchObject({ outcomes: [], opened: [], ignored: true, lamp: { on: false } });
  });

  it('ignores its own call delivered after the incident ended, within the delivery allowance', async () => {
    // Prepare: remediated at 10:15:02; CloudTrail delivers the 10:15:01 call 12 minutes later
    const stored = lampIncident({ status: 'remediated' });
    // Act
    const judged = await judgeCall({ stored, at: '2026-11-23T10:15:01Z', now: '2026-11-23T10:27:00Z' });
    // Assess
    expect(judged).toMatchObject({ outcomes: [], opened: [], ignored: true });
  });

  it("judges a replay of a remediated incident's session long after it ended as drift, naming the session", async () => {
    // Prepare: an insider's role of the member role's name, a month later, its session the old incident id
    const stored = lampIncident({ status: 'remediated' });
    // Act
    const judged = await judgeCall({ stored, at: '2026-12-23T09:00:00Z', now: '2026-12-23T09:00:30Z' });
    // Assess: not the loop guard's; a new incident names who did it, and the lamp is on again
    expect(judged.ignored).toBe(false);
    expect(judged.opened).toEqual([
      expect.objectContaining({
        status: 'remediated',
        account: MEMBER,
        actor: expect.objectContaining({ arn: asMemberRole(INCIDENT)?.arn }),
      }),
    ]);
    expect(judged.lamp.on).toBe(true);
  });

  it("judges a call whose time is outside an open incident's window (notify mode keeps one open for months)", async () => {
    // Prepare: opened and last written in November, still open; the call in December
    const stored = lampIncident({ status: 'open', mode: 'notify' });
    // Act
    const judged = await judgeCall({ stored, at: '2026-12-23T09:00:00Z', now: '2026-12-23T09:00:30Z' });
    // Assess
    expect(judged.ignored).toBe(false);
    expect(judged.opened).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ arn: asMemberRole(INCIDENT)?.arn }) }),
    ]);
  });

  it('judges a call made before the incident it names was opened', async () => {
    // Prepare: the call at 10:14:00, the incident opened at 10:15:00
    const stored = lampIncident({ status: 'remediating' });
    // Act
    const judged = await judgeCall({ stored, at: '2026-11-23T10:14:00Z', now: '2026-11-23T10:16:00Z' });
    // Assess
    expect(judged.ignored).toBe(false);
    expect(judged.opened).toHaveLength(1);
  });

  it('judges a call on another resource than the one its incident is remediating', async () => {
    // Prepare: the incident is about another lamp of the member; the call turned off this one
    const stored = lampIncident({ status: 'remediating', resourceId: 'lamp-in-the-hall' });
    // Act
    const judged = await judgeCall({ stored, at: '2026-11-23T10:15:01Z', now: '2026-11-23T10:16:00Z' });
    // Assess
    expect(judged.ignored).toBe(false);
    expect(judged.opened).toEqual([
      expect.objectContaining({ actor: expect.objectContaining({ arn: asMemberRole(INCIDENT)?.arn }) }),
    ]);
  });

  it("judges a member role's call in the security account itself, where the responder acts with its own role", async () => {
    // Prepare: a role of the member role's name made in the security account, naming an incident there
    const stored = lampIncident({ status: 'remediating', account: SECURITY });
    // Act
    const judged = await judgeCall({
      stored,
      at: '2026-11-23T10:15:01Z',
      now: '2026-11-23T10:16:00Z',
      account: SECURITY,
    });
    // Assess
    expect(judged.ignored).toBe(false);
  });

  it('judges its own late call delivered past the allowance, by a read (the fix shows compliant: nothing opened)', async () => {
    // Prepare: remediated at 10:15:02; the 10:15:01 call delivered an hour later, the lamp on by then
    const stored = lampIncident({ status: 'remediated' });
    // Act
    const judged = await judgeCall({
      stored,
      at: '2026-11-23T10:15:01Z',
      now: '2026-11-23T11:15:00Z',
      lampOn: true,
    });
    // Assess: judged (no loop guard), and only drift would open an incident
    expect(judged).toMatchObject({
      ignored: false,
      opened: [],
      outcomes: [expect.objectContaining({ compliance: 'COMPLIANT' })],
    });
  });
});
