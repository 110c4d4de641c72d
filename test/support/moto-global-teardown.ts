import type { MotoServer } from '../../scripts/lib/moto';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __MOTO_SERVERS__?: MotoServer[] }).__MOTO_SERVERS__ ?? [];
  await Promise.all(servers.map((server) => server.stop()));
}
