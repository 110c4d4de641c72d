import type { AlertMessage, AlertPublisher } from '../shared/pipeline/alerts';
import { CliError, explainError } from './errors';

/**
 * Alerts on-call about a change the command just made (its publisher resolved before the change):
 * a failure says the change stands, recorded, and that on-call did not hear of it.
 */
export async function tellOnCall(onCall: AlertPublisher, alert: AlertMessage, done: string): Promise<string> {
  try {
    return await onCall.publish(alert);
  } catch (error) {
    throw new CliError(
      `${done}, but on-call could not be alerted: ${explainError(error).message}; tell them yourself`,
      { cause: error },
    );
  }
}
