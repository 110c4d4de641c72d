import {
  type ConfigServiceClient,
  type Evaluation,
  PutEvaluationsCommand,
} from '@aws-sdk/client-config-service';
import type { ConfigEvaluationContext } from '../triggers/types';
import type { ResourceOutcome } from './run-pipeline';

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
