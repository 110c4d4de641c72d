import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of moto that answers chosen AWS calls with faults, as AWS and the network
 * do: throttling and IAM's refusal (AccessDenied: moto enforces no IAM) in each protocol's own
 * error shape, 500/503, a reset connection (before moto saw the
 * call, or after it did the work and the answer was lost) and a stall past the SDK's socket timeout.
 * Functions get it as AWS_ENDPOINT_URL; it counts every request, so retries can be bounded.
 */

export const FAULT_KINDS = ['throttle', 'http500', 'http503', 'reset', 'reset-after', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** What a fault may also be: IAM's refusal, which no retry ends (not among the reliability suite's kinds). */
export type InjectedKind = FaultKind | 'denied';

export interface Fault {
  /** IAM-style `service:Action`, e.g. `ec2:EnableEbsEncryptionByDefault`. */
  action: string;
  /** Which matching request fails first (1-based). */
  nth: number;
  kind: InjectedKind;
  /** How many matching requests in a row fail from the nth: 1 is transient (a retry succeeds). */
  times: number;
  /** Only requests whose raw body holds this text count and fail (an id, as sent): one resource's fault. */
  bodyIncludes?: string;
}

export interface ProxiedCall {
  /** IAM-style `service:Action`. */
  action: string;
  method: string;
  fault?: InjectedKind;
}

/** The AWS action of a request: query `Action=`, JSON `X-Amz-Target`, or Lambda's REST paths. */
export function actionOf(
  service: string,
  method: string,
  path: string,
  headers: IncomingMessage['headers'],
  body: string,
): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const query = new URLSearchParams(body).get('Action');
  if (query) return query;
  if (service === 'lambda') {
    const route = path.split('?')[0] ?? '';
    if (/\/functions\/?$/.test(route) && method === 'GET') return 'ListFunctions';
    if (/\/concurrency$/.test(route))
      return (
        { GET: 'GetFunctionConcurrency', PUT: 'PutFunctionConcurrency', DELETE: 'DeleteFunctionConcurrency' }[
          method
        ] ?? `unknown ${method} ${route}`
      );
    if (/\/configuration$/.test(route) && method === 'GET') return 'GetFunctionConfiguration';
    if (/\/versions$/.test(route) && method === 'GET') return 'ListVersionsByFunction';
    if (/\/functions\/[^/]+$/.test(route) && method === 'GET') return 'GetFunction';
  }
  return `unknown ${method} ${path.split('?')[0]}`;
}

/** IAM's prefix where a service signs under another name (CloudWatch signs as `monitoring`). */
const IAM_PREFIX: Readonly<Record<string, string>> = { monitoring: 'cloudwatch' };

/** The signing service from SigV4's credential scope: `Credential=AKID/date/region/service/aws4_request`. */
const serviceOf = (headers: IncomingMessage['headers']): string =>
  /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(String(headers.authorization ?? ''))?.[1] ?? 'unknown';

type Protocol = 'ec2' | 'query' | 'rest-json' | 'json';

/**
 * Each service's protocol, by IAM prefix: a throttling answer must be in its shape, so the SDK
 * classifies it as AWS would. A service the rules start calling needs its row (checked against the
 * registry by test/reliability/scenarios.test.ts).
 */
export const PROTOCOLS: Readonly<Record<string, Protocol>> = {
  ec2: 'ec2',
  iam: 'query',
  // Application, Network and Classic Load Balancers alike.
  elasticloadbalancing: 'query',
  sns: 'query',
  sts: 'query',
  lambda: 'rest-json',
  cloudtrail: 'json',
  // CloudWatch speaks JSON 1.0 (query-compatible); throttled, it answers as the JSON services do.
  cloudwatch: 'json',
  config: 'json',
  dynamodb: 'json',
  ecr: 'json',
  ecs: 'json',
  events: 'json',
  kms: 'json',
  logs: 'json',
  // Not a rule's: the organisation deployment's account listing (shared/organisation/accounts.ts).
  organizations: 'json',
};

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const THROTTLED: Readonly<Record<Protocol, (requestId: string) => Answer>> = {
  ec2: (requestId) => ({
    status: 503,
    headers: { 'content-type': 'text/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  }),
  query: (requestId) => ({
    status: 400,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  }),
  'rest-json': (requestId) => ({
    status: 429,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': 'TooManyRequestsException',
      'x-amzn-requestid': requestId,
    },
    body: JSON.stringify({ Type: 'User', message: 'Rate exceeded', Reason: 'CallerRateLimitExceeded' }),
  }),
  json: (requestId) => ({
    status: 400,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-errortype': 'ThrottlingException',
      'x-amzn-requestid': requestId,
    },
    body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }),
  }),
};

/** IAM's refusal, as each protocol answers it. */
const DENIED: Readonly<Record<Protocol, (requestId: string) => Answer>> = {
  ec2: (requestId) => ({
    status: 403,
    headers: { 'content-type': 'text/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  }),
  query: (requestId) => ({
    status: 403,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  }),
  'rest-json': (requestId) => ({
    status: 403,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': 'AccessDeniedException',
      'x-amzn-requestid': requestId,
    },
    body: JSON.stringify({ Type: 'User', message: 'not authorized' }),
  }),
  json: (requestId) => ({
    status: 400,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-errortype': 'AccessDeniedException',
      'x-amzn-requestid': requestId,
    },
    body: JSON.stringify({ __type: 'AccessDeniedException', message: 'not authorized' }),
  }),
};

/** An error answer in the service's protocol; a service without a row is refused loudly, never guessed. */
function answerError(response: ServerResponse, service: string, answers = THROTTLED): void {
  const protocol = PROTOCOLS[service];
  const { status, headers, body } = protocol
    ? answers[protocol](randomUUID())
    : {
        status: 501,
        headers: { 'content-type': 'text/plain' },
        body: `fault proxy: no protocol for ${service}: add it to PROTOCOLS in test/support/fault-proxy.ts`,
      };
  response.writeHead(status, headers);
  response.end(body);
}

export class FaultProxy {
  readonly calls: ProxiedCall[] = [];
  private plan: Fault[] = [];
  private readonly seen = new Map<string, number>();
  private readonly stalled = new Set<IncomingMessage>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
    /** How long a stall holds a request: longer than the SDK's socket timeout. */
    private readonly stallMs: number,
  ) {}

  static async start(target: string, stallMs = 20_000): Promise<FaultProxy> {
    const server = createServer();
    const proxy = new FaultProxy(server, new URL(target), stallMs);
    server.on('request', (req, res) => proxy.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Forgets the calls seen and arms a new plan (empty: a clean pass-through). */
  arm(plan: readonly Fault[] = []): void {
    this.plan = [...plan];
    this.seen.clear();
    this.calls.length = 0;
  }

  get injected(): ProxiedCall[] {
    return this.calls.filter((call) => call.fault);
  }

  async close(): Promise<void> {
    for (const req of this.stalled) req.socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private faultFor(action: string, body: string): InjectedKind | undefined {
    const count = (this.seen.get(action) ?? 0) + 1;
    this.seen.set(action, count);
    return this.plan.find((fault) => {
      if (fault.action !== action) return false;
      if (fault.bodyIncludes === undefined) return count >= fault.nth && count < fault.nth + fault.times;
      if (!body.includes(fault.bodyIncludes)) return false;
      const key = `${action} ${fault.bodyIncludes}`;
      const matched = (this.seen.get(key) ?? 0) + 1;
      this.seen.set(key, matched);
      return matched >= fault.nth && matched < fault.nth + fault.times;
    })?.kind;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const service = serviceOf(req.headers);
      const prefix = IAM_PREFIX[service] ?? service;
      const text = body.toString('utf8');
      const action = `${prefix}:${actionOf(service, req.method ?? 'GET', req.url ?? '/', req.headers, text)}`;
      const fault = this.faultFor(action, text);
      this.calls.push({ action, method: req.method ?? 'GET', ...(fault ? { fault } : {}) });
      switch (fault) {
        case 'throttle':
          return answerError(res, prefix);
        case 'denied':
          return answerError(res, prefix, DENIED);
        case 'http500':
        case 'http503':
          res.writeHead(fault === 'http500' ? 500 : 503, { 'content-type': 'text/plain' });
          return void res.end(fault === 'http500' ? 'Internal Server Error' : 'Service Unavailable');
        case 'reset':
          return void req.socket.destroy();
        case 'stall': {
          this.stalled.add(req);
          const timer = setTimeout(() => req.socket.destroy(), this.stallMs);
          req.socket.once('close', () => {
            clearTimeout(timer);
            this.stalled.delete(req);
          });
          return;
        }
        default:
          return this.forward(req, res, body, fault === 'reset-after');
      }
    });
  }

  /** Passes the request to moto; with `loseAnswer`, moto does the work and the caller never hears back. */
  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer, loseAnswer: boolean): void {
    const upstream = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
      },
      (answer) => {
        if (loseAnswer) {
          answer.resume();
          answer.once('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  }
}
