import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { endpointIsLoopback } from '../../shared/aws/clients';

/** A moto_server (the AWS API emulator) running on loopback: the local AWS account. */
export interface MotoServer {
  readonly url: string;
  readonly pid: number;
  /** Wipes every service's state: a clean account. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');
const READY_TIMEOUT_MS = 60_000;

/** Path of moto_server: the project's .venv, else PATH, else installed into .venv on first use. */
export function motoServerPath(): string {
  return execFileSync(join(ROOT, 'scripts', 'python-tool.sh'), ['moto_server'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function waitUntilReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${url} within ${READY_TIMEOUT_MS / 1000}s`);
}

export interface StartMotoOptions {
  /** Where moto's request recorder writes (enables /moto-api/recorder/*). */
  recorderFile?: string;
  /** Inherit moto's own output (useful when debugging); silent by default. */
  verbose?: boolean;
  /** Keep running after this process exits (npm run moto:start). */
  detached?: boolean;
  /** More environment for moto, e.g. MOTO_WHOLE_TABLE_BACKUP=1 (scripts/moto/sitecustomize.py). */
  env?: Readonly<Record<string, string>>;
}

export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const executable = motoServerPath();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // scripts/moto/sitecustomize.py makes moto's DynamoDB transactions isolated, as DynamoDB's are.
  const patches = join(ROOT, 'scripts', 'moto');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: [patches, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
    ...options.env,
  };
  if (options.recorderFile) env.MOTO_RECORDER_FILEPATH = options.recorderFile;
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    env,
    stdio: options.verbose ? 'inherit' : 'ignore',
    detached: options.detached === true,
  });
  if (options.detached) child.unref();
  try {
    await waitUntilReady(url, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid ?? -1;
  return {
    url,
    pid,
    async reset() {
      const response = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Refuses to run against anything but a loopback endpoint, so real credentials never meet seeded drift. */
export function assertLoopbackEndpoint(endpoint = process.env.AWS_ENDPOINT_URL): string {
  if (!endpoint || !endpointIsLoopback(endpoint)) {
    throw new Error(
      `Refusing to run: AWS_ENDPOINT_URL must point at a local emulator on loopback (got ${endpoint ?? 'nothing'}).`,
    );
  }
  return endpoint;
}
