import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ruleOfSweepFunction } from '../shared/pipeline/sweep-names';

/**
 * npm run local:invoke -- <function> <event-file>
 * Runs dist/functions/<function>.js (for a sweep function, `<rule id>-sweep`, its rule's bundle)
 * with the environment in .local/env.json (or LOCAL_ENV_FILE) and prints the handler's result as
 * JSON on stdout (logs go to stderr). Exit code 1 when the handler throws.
 * The invocation has Lambda's clock: its time left counts down from LOCAL_INVOKE_TIMEOUT_MS (60,000
 * by default, the functions' timeout). LOCAL_INVOKE_TICK_MS (tests) also takes that much off at each
 * read after the first, so a test runs an invocation out of time at a known point without waiting.
 */
async function main(): Promise<void> {
  const [name, eventFile] = process.argv.slice(2);
  if (!name || !eventFile) throw new Error('usage: npm run local:invoke -- <function> <event-file>');
  const root = join(__dirname, '..');
  // A rule's sweep function (`<rule id>-sweep`) runs its rule's bundle, as deployed.
  const bundle = join(root, 'dist', 'functions', `${ruleOfSweepFunction(name) ?? name}.js`);
  if (!existsSync(bundle)) throw new Error(`${bundle} not found: run npm run build first`);
  const envFile = process.env.LOCAL_ENV_FILE ?? join(root, '.local', 'env.json');
  if (!existsSync(envFile)) throw new Error(`${envFile} not found: run npm run local:provision first`);
  Object.assign(process.env, JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>);
  // What Lambda sets in every function's environment: the deployed function's name.
  if (process.env.STACK_NAME) process.env.AWS_LAMBDA_FUNCTION_NAME = `${process.env.STACK_NAME}-${name}`;
  const event: unknown = JSON.parse(readFileSync(resolve(eventFile), 'utf8'));
  // stdout carries only the result; the function's logs go to stderr.
  console.log = console.error;
  const { handler } = require(bundle) as { handler: (event: unknown, context: unknown) => Promise<unknown> };
  const deadline = Date.now() + Number(process.env.LOCAL_INVOKE_TIMEOUT_MS ?? 60_000);
  const tick = Number(process.env.LOCAL_INVOKE_TICK_MS ?? 0);
  let reads = 0;
  const result = await handler(event, {
    functionName: name,
    awsRequestId: `local-${Date.now()}`,
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${name}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now() - tick * reads++),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  const failure =
    error instanceof Error
      ? { errorType: error.name, errorMessage: error.message }
      : { errorMessage: String(error) };
  process.stdout.write(`${JSON.stringify(failure, null, 2)}\n`);
  process.exit(1);
});
