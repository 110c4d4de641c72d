import { type RecordedCall, recordedCalls } from './recorder';

/** The Message of an SNS Publish call, whichever protocol the SDK spoke (query or JSON). */
function publishedMessage(call: RecordedCall): string | undefined {
  if (call.action !== 'Publish') return undefined;
  if (call.body.trimStart().startsWith('{')) return (JSON.parse(call.body) as { Message?: string }).Message;
  return new URLSearchParams(call.body).get('Message') ?? undefined;
}

/**
 * The body SNS delivers to an e-mail subscriber (before the unsubscribe footer it appends) of each
 * alert published since moto's recorder started, keyed by the alert's `default` body, which is what
 * every other subscriber (the demo's SQS inbox) receives. moto sends no e-mail, so this reads the
 * Publish requests and takes what SNS takes for the `email` protocol: with MessageStructure json, the
 * `email` key, else `default`.
 */
export async function emailsByDefaultBody(endpoint?: string): Promise<Map<string, string>> {
  const emails = new Map<string, string>();
  for (const call of await recordedCalls(endpoint)) {
    const message = publishedMessage(call);
    if (message === undefined) continue;
    const bodies = JSON.parse(message) as { default?: string; email?: string };
    if (bodies.default !== undefined) emails.set(bodies.default, bodies.email ?? bodies.default);
  }
  return emails;
}
