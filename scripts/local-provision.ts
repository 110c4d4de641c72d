import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionLocalStack } from './lib/local-stack';

/**
 * npm run local:provision — creates the stack's table, topic, queue, key and roles in the endpoint
 * AWS_ENDPOINT_URL names (loopback only) and writes the function environment to .local/env.json.
 */
async function main(): Promise<void> {
  const stack = await provisionLocalStack({
    region: process.env.AWS_REGION ?? 'us-east-1',
    everyFunction: true,
  });
  const file = join(__dirname, '..', '.local', 'env.json');
  mkdirSync(join(__dirname, '..', '.local'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(stack.env, null, 2)}\n`);
  console.log(
    JSON.stringify({ envFile: '.local/env.json', table: stack.tableName, topic: stack.topicArn }, null, 2),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
