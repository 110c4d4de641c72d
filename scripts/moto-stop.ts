import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** npm run moto:stop — stops the moto_server that npm run moto:start recorded in .local/moto.json. */
const file = join(__dirname, '..', '.local', 'moto.json');
if (!existsSync(file)) {
  console.error('no moto_server recorded in .local/moto.json');
} else {
  const { pid, url } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; url: string };
  try {
    process.kill(pid, 'SIGTERM');
    console.error(`stopped moto_server ${pid} (${url})`);
  } catch {
    console.error(`moto_server ${pid} was not running`);
  }
  rmSync(file);
}
