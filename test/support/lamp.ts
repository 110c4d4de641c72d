import { createAwsClients } from '../../shared/aws/clients';
import type { Observation } from '../../shared/model';
import type { BlastRadiusGuard } from '../../shared/pipeline/guards';
import { type PipelineDeps, ResponsePipeline } from '../../shared/pipeline/run-pipeline';
import { defineRule, type Loaded, type Rule } from '../../shared/rules/rule';
import { testSettings } from './incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from './memory-store';

/** The pipeline's behaviour without any AWS service: a rule about a lamp that must be on. */

export interface Lamp {
  on: boolean;
}

/** A rule about a lamp that must be on: the pipeline's behaviour without any AWS service. */
export function lampRule(
  world: { lamp: Lamp; tags?: Record<string, string> },
  remediate: Rule<Lamp>['remediate'],
): Rule {
  const loaded = (): Loaded<Lamp> => ({
    resourceType: 'AWS::::Account',
    resourceId: '111122223333',
    arn: 'arn:lamp',
    region: 'us-east-1',
    accountId: '111122223333',
    tags: world.tags ?? {},
    state: { ...world.lamp },
  });
  return defineRule<Lamp>({
    id: 'ebs-encryption-by-default',
    title: 'Lamp is off',
    severity: 'HIGH',
    hipaa: ['164.312(b)'],
    runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    readme: { enforce: 'turns the lamp on' },
    defaultMode: 'enforce',
    resourceType: 'AWS::::Account',
    triggers: { cloudTrail: { eventNames: ['TurnOff'] }, schedule: 'rate(1 hour)' },
    permissions: [],
    load: async () => loaded(),
    async *list() {
      yield loaded();
    },
    detect: (resource) =>
      resource.state.on
        ? { compliant: true }
        : { compliant: false, reason: 'lamp off', evidence: {}, plan: 'turn it on' },
    remediate,
  });
}

export const observation: Observation = {
  source: 'cloudtrail',
  eventId: 'event-1',
  eventName: 'TurnOff',
  accountId: '111122223333',
  region: 'us-east-1',
  resourceType: 'AWS::::Account',
  resourceId: '111122223333',
  observedAt: '2026-11-23T10:00:00Z',
  actor: { arn: 'arn:aws:iam::111122223333:user/dev-alice' },
  summary: {},
};

export function pipelineFor(
  rule: Rule,
  env: Record<string, string> = {},
  store = new MemoryIncidentStore(),
  observers: Partial<Pick<PipelineDeps, 'logger' | 'metrics' | 'guard' | 'accounts' | 'now'>> = {},
) {
  const alerts = new CollectingAlerts();
  const guard = { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard;
  const exemptions = new MemoryExemptionLedger();
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients('us-east-1'),
    settings: testSettings(env),
    store,
    alerts,
    guard,
    exemptions,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined },
    verify: { attempts: 2, delayMs: 1 },
    ...observers,
  });
  const only = () => [...store.incidents.values()].map((incident) => structuredClone(incident));
  return { pipeline, store, alerts, exemptions, only };
}
