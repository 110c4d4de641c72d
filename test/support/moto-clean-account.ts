import { assertLoopbackEndpoint } from '../../scripts/lib/moto';

/** Each test file starts with a clean account: its worker's moto_server is reset before the file runs. */
beforeAll(async () => {
  const endpoint = assertLoopbackEndpoint();
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
});
