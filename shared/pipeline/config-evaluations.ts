import {
  type ConfigServiceClient,
  type Evaluation,
  PutEvaluationsCommand,
  StartConfigRulesEvaluationCommand,
} from '@aws-sdk/client-config-service';
import type { AwsClients } from '../aws/clients';
import type { Settings } from '../config';
import { errorMessage } from '../errors';
import { Metric } from '../metrics';
import { TriggerSource } from '../model';
import type { ConfigEvaluationContext, TriggerEvent } from '../triggers/types';
import type { PipelineContext } from './context';
import type { Journal } from './journal';
import type { ResourceOutcome } from './outcomes';
import { stepRecorder } from './steps';

/**
 * Config feedback, both ways: a Config rule invocation is answered with PutEvaluations, and a
 * verified fix asks Config to evaluate again, so its console turns green at once.
 */

/** Config accepts at most 100 evaluations a call and annotations of at most 256 characters. */
export const EVALUATIONS_PER_CALL = 100;
export const ANNOTATION_LIMIT = 256;

export function toEvaluations(outcomes: readonly ResourceOutcome[], orderingTimestamp: string): Evaluation[] {
  const ordering = new Date(orderingTimestamp);
  return outcomes.map((outcome) => ({
    ComplianceResourceType: outcome.resourceType,
    ComplianceResourceId: outcome.resourceId,
    ComplianceType: outcome.compliance,
    Annotation: outcome.note.slice(0, ANNOTATION_LIMIT),
    OrderingTimestamp: Number.isNaN(ordering.getTime()) ? new Date() : ordering,
  }));
}

/** Returns the evaluations to Config in batches; `testMode` only for local emulators (see config.ts). */
export async function putEvaluations(
  client: ConfigServiceClient,
  context: ConfigEvaluationContext,
  outcomes: readonly ResourceOutcome[],
  testMode: boolean,
): Promise<number> {
  const evaluations = toEvaluations(outcomes, context.orderingTimestamp);
  for (let start = 0; start < evaluations.length; start += EVALUATIONS_PER_CALL) {
    const result = await client.send(
      new PutEvaluationsCommand({
        ResultToken: context.resultToken,
        Evaluations: evaluations.slice(start, start + EVALUATIONS_PER_CALL),
        TestMode: testMode || undefined,
      }),
    );
    if (result.FailedEvaluations && result.FailedEvaluations.length > 0) {
      throw new Error(`Config rejected ${result.FailedEvaluations.length} evaluations`);
    }
  }
  return evaluations.length;
}

/** Answers a Config rule invocation, in the region that invoked it ('global' items: the home region). */
export async function answerConfigEvaluation(
  trigger: TriggerEvent,
  outcomes: readonly ResourceOutcome[],
  aws: Pick<AwsClients, 'config'>,
  settings: Pick<Settings, 'homeRegion' | 'configTestMode'>,
): Promise<number> {
  if (!trigger.configEvaluation) return 0;
  const region = trigger.kind === 'sweep' ? trigger.sweep.region : trigger.observations[0]?.region;
  return putEvaluations(
    aws.config(region && region !== 'global' ? region : settings.homeRegion),
    trigger.configEvaluation,
    outcomes,
    settings.configTestMode,
  );
}

/**
 * After a verified fix, asks Config to evaluate the paired rules now, instead of at the next
 * periodic run. Config evaluates the last item it recorded (it records none itself): a periodic
 * rule reports the fix at once; a change-triggered rule reports it once the fix's item is
 * recorded (at once with continuous recording, at the next daily recording otherwise). Config
 * names no resource here: the whole rule is evaluated. Best effort: recorded as a step; a failure
 * is noted there and counted, never fails the remediation. In a member account the stack's own
 * rule is not asked for (it exists in the security account only): a `ConfigReevaluationSkipped`
 * step says so, and a member's own rule an event named is still re-evaluated there.
 */
export async function reevaluateConfigRules(
  ctx: PipelineContext,
  journal: Journal,
  { answered = false }: { answered?: boolean } = {},
): Promise<void> {
  const { settings, aws, logger, metrics } = ctx.deps;
  const { incident } = journal;
  const { source, configRuleName } = incident.trigger;
  // The rule that invoked us is evaluating until it is answered (ResponsePipeline.answer asks after).
  if (source === TriggerSource.ConfigRule && !answered) return;
  const region = incident.region === 'global' ? settings.homeRegion : incident.region;
  const names = new Set<string>();
  // CloudFormation creates the stack's own rules in the home region only, and in the security
  // account only: a member account (its member role's clients) has none to evaluate.
  const stackRule =
    settings.configRules && ctx.rule.triggers.customConfigRule && region === settings.homeRegion
      ? `${settings.stackName}-${ctx.rule.id}`
      : undefined;
  if (stackRule && aws.memberAccount !== undefined) {
    // Not a failure: said in the incident, with the journal's next write.
    await stepRecorder(journal, ctx.now)('ConfigReevaluationSkipped', async () => undefined, {
      output: () => ({
        configRules: stackRule,
        why: `only the security account has it, not account ${aws.memberAccount}`,
      }),
      readOnly: true,
    });
  } else if (stackRule) names.add(stackRule);
  // The rule that reported the drift: a managed rule's compliance change, or our own invocation.
  if ((source === TriggerSource.ConfigCompliance || source === TriggerSource.ConfigRule) && configRuleName)
    names.add(configRuleName);
  if (names.size === 0) return;
  const ConfigRuleNames = [...names];
  try {
    // Asks Config to read the resource again, changing nothing: recorded with the journal's next write.
    await stepRecorder(journal, ctx.now)(
      'StartConfigRulesEvaluation',
      () => aws.config(region).send(new StartConfigRulesEvaluationCommand({ ConfigRuleNames })),
      { output: () => ({ configRules: ConfigRuleNames.join(',') }), readOnly: true },
    );
  } catch (error) {
    metrics.count(Metric.ConfigReevaluationFailed);
    logger.warn('Config re-evaluation failed; the remediation stands', {
      ruleId: ctx.rule.id,
      incidentId: incident.incidentId,
      error: errorMessage(error),
    });
  }
}
