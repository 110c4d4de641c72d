import { retryUntil } from '../concurrency';
import { errorMessage } from '../errors';
import { type Step, StepResult, type Summary } from '../model';
import type { Loaded, StepRecorder } from '../rules/rule';
import type { PipelineContext } from './context';
import type { Journal } from './journal';
import { keepsAsEvidence } from './kept-evidence';

/** The step that reads the fix back: it changes nothing, so there is nothing of it to undo. */
export const VERIFY_STEP = 'Verify';

/**
 * Records each call of a remediation as a step: its intent written before it runs (with whatever
 * the record owes, shared/pipeline/journal.ts), its result kept for the next write. A read-only
 * step (`readOnly`) is not written ahead: it changes nothing a crash could leave unrecorded.
 */
export function stepRecorder(
  journal: Journal,
  now: () => Date,
  /** Runs once, before the first step that changes AWS (respond.ts: the blast-radius guard's slot). */
  beforeFirstChange?: () => Promise<void>,
): StepRecorder {
  let admitted = beforeFirstChange === undefined;
  return async (action, run, options = {}) => {
    if (!options.readOnly && !admitted) {
      await beforeFirstChange?.();
      admitted = true;
    }
    const started: Step = {
      action,
      at: now().toISOString(),
      result: StepResult.Running,
      undo: options.undo,
    };
    const index = options.readOnly ? journal.record(started) : await journal.intent(started);
    try {
      const result = await run();
      journal.replace(index, { ...started, result: StepResult.Succeeded, output: options.output?.(result) });
      return result;
    } catch (error) {
      journal.replace(index, {
        ...started,
        result: StepResult.Failed,
        error: errorMessage(error).slice(0, 512),
      });
      throw error;
    }
  };
}

/**
 * Honest status: remediated only after a read shows the resource compliant, gone, or kept as
 * evidence by this incident (its replacement proven by the incident's record). Says which; throws
 * (a failed Verify step) when the read still shows drift.
 */
export async function verify(
  ctx: PipelineContext,
  journal: Journal,
  before: Loaded<unknown>,
): Promise<boolean> {
  const { rule, deps } = ctx;
  const { attempts, delayMs } = deps.verify ?? { attempts: 5, delayMs: 500 };
  const ref = {
    resourceType: before.resourceType,
    resourceId: before.resourceId,
    region: before.region,
    accountId: before.accountId,
  };
  const { aws, settings } = deps;
  const read = async () => {
    // The narrower re-read where the rule has one: the resource's identity and tags are not in question.
    const after = rule.reload
      ? await rule.reload(before, aws, settings)
      : await rule.load(ref, aws, settings);
    // Gone counts: a remediation may delete what it replaced (configured), leaving nothing non-compliant.
    if (after === undefined || rule.detect(after, settings).compliant) return { fixed: true, kept: false };
    return { fixed: false, kept: await keepsAsEvidence(rule, after, journal.incident, aws) };
  };
  const step = stepRecorder(journal, ctx.now);
  const verified = await step(
    VERIFY_STEP,
    async () => {
      const { satisfied, value } = await retryUntil(read, (after) => after.fixed || after.kept, {
        attempts,
        delayMs,
      });
      if (!satisfied) throw new Error('the resource still reads as non-compliant after remediation');
      return value;
    },
    { output: (value): Summary => (value.kept ? { originalKeptAsEvidence: true } : {}), readOnly: true },
  );
  return verified.kept;
}
