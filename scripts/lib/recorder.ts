import { assertLoopbackEndpoint } from './moto';

/** One API call moto received, as its request recorder saw it. */
export interface RecordedCall {
  method: string;
  url: string;
  /** The API action: `Action=` of query protocols, or the X-Amz-Target operation of JSON protocols. */
  action: string;
  /** The request body as sent (JSON protocols: the request's JSON), for tests that read what was asked. */
  body: string;
}

const READ_ONLY = /^(Describe|Get|List|Query|Scan|BatchGet)/;

const bodyOf = (entry: { body: string; body_encoded: boolean }): string =>
  entry.body_encoded ? Buffer.from(entry.body, 'base64').toString('utf8') : (entry.body ?? '');

function actionOf(entry: { headers: Record<string, string>; body: string; body_encoded: boolean }): string {
  const target = entry.headers['X-Amz-Target'] ?? entry.headers['x-amz-target'];
  if (target) return target.split('.').pop() ?? target;
  return new URLSearchParams(bodyOf(entry)).get('Action') ?? 'unknown';
}

const recorderApi = (endpoint: string, path: string, method = 'POST') =>
  fetch(`${endpoint}/moto-api/recorder/${path}`, { method });

/** Starts a fresh recording; moto must have been started with a recorder file (startMoto's recorderFile). */
export async function startRecording(endpoint = assertLoopbackEndpoint()): Promise<void> {
  await recorderApi(endpoint, 'reset-recording');
  await recorderApi(endpoint, 'start-recording');
}

/** Stops recording (a kept moto would otherwise record every later call). */
export async function stopRecording(endpoint = assertLoopbackEndpoint()): Promise<void> {
  await recorderApi(endpoint, 'stop-recording');
}

/** Every call recorded so far (from any process). */
export async function recordedCalls(endpoint = assertLoopbackEndpoint()): Promise<RecordedCall[]> {
  const text = await (await recorderApi(endpoint, 'download-recording', 'GET')).text();
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap(entriesOf)
    .map((entry) => ({ method: entry.method, url: entry.url, action: actionOf(entry), body: bodyOf(entry) }));
}

/** Runs `work` with moto's request recorder on and returns every call it made (from any process). */
export async function recordCalls(work: () => Promise<unknown>): Promise<RecordedCall[]> {
  const endpoint = assertLoopbackEndpoint();
  await startRecording(endpoint);
  try {
    await work();
  } finally {
    await recorderApi(endpoint, 'stop-recording');
  }
  return recordedCalls(endpoint);
}

interface RecorderEntry {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  body_encoded: boolean;
}

/**
 * One line of moto's recording is one request, except when two of moto's threads wrote at once:
 * then two entries share the line, back to back.
 */
function entriesOf(line: string): RecorderEntry[] {
  try {
    return [JSON.parse(line) as RecorderEntry];
  } catch {
    return line.split(/(?<=\})(?=\{")/).map((part) => JSON.parse(part) as RecorderEntry);
  }
}

/** Writes: REST APIs (Lambda) read with GET and HEAD; the others name the action. */
export const writesAmong = <Call extends Pick<RecordedCall, 'method' | 'action'>>(
  calls: readonly Call[],
): Call[] => calls.filter((call) => !['GET', 'HEAD'].includes(call.method) && !READ_ONLY.test(call.action));
