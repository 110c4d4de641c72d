import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMoto } from './lib/moto';

/**
 * npm run moto:start — starts a moto_server on 127.0.0.1 on a free port that outlives this command,
 * records it in .local/moto.json and prints the line to export. Stop it with npm run moto:stop.
 */
async function main(): Promise<void> {
  const root = join(__dirname, '..');
  const moto = await startMoto({ detached: true });
  mkdirSync(join(root, '.local'), { recursive: true });
  writeFileSync(join(root, '.local', 'moto.json'), JSON.stringify({ url: moto.url, pid: moto.pid }, null, 2));
  console.log(
    `export AWS_ENDPOINT_URL=${moto.url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
