import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MotoServer, startMoto } from '../../scripts/lib/moto';

/**
 * One moto_server per jest worker. `/moto-api/reset` wipes a whole server, so workers never share
 * one: each test file resets its own worker's server before it starts (see moto-clean-account.ts).
 */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  const recordings = mkdtempSync(join(tmpdir(), 'moto-recordings-'));
  // The request recorder stays off until a test starts it (test/support/recorder.ts).
  const servers: MotoServer[] = await Promise.all(
    Array.from({ length: Math.max(1, globalConfig.maxWorkers) }, (_, index) =>
      startMoto({ recorderFile: join(recordings, `worker-${index + 1}.jsonl`) }),
    ),
  );
  (globalThis as { __MOTO_SERVERS__?: MotoServer[] }).__MOTO_SERVERS__ = servers;
  // Workers are forked after global setup, so they inherit this.
  process.env.MOTO_ENDPOINTS = servers.map((server) => server.url).join(',');
}
