import type { AwsClients } from '../../shared/aws/clients';
import type { Settings } from '../../shared/config';
import type { Summary } from '../../shared/model';
import type { RemediationContext, StepOptions } from '../../shared/rules/rule';

/** A remediation context without a table: steps and workflow state are kept in memory for assertions. */
export function recordingContext(
  aws: AwsClients,
  settings: Settings,
  incidentId = 'inc-20261123T101500-0a1b2c3d',
) {
  const steps: { action: string; undo?: StepOptions<unknown>['undo'] }[] = [];
  const state: Record<string, Summary[string]> = {};
  const context: RemediationContext = {
    aws,
    settings,
    incidentId,
    step: async (action, run, options) => {
      steps.push({ action, undo: options?.undo });
      return run();
    },
    workflow: {
      state,
      save: async (patch) => {
        Object.assign(state, patch);
      },
    },
  };
  return { context, steps, state };
}
