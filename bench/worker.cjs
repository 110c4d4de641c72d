/**
 * One Lambda "container" for the benchmark: loads a bundle once (cold start), then handles the
 * events the parent sends over IPC one at a time, as a warm Lambda environment does.
 * Messages in: { id, event } | { id, stats: true }. Out: { ready, loadMs } then { id, ms, cpuMs, result | error }.
 * cpuMs: this process's user+system CPU over the invocation (the "client CPU" the bench compares).
 * Environment: the function's (set by the parent); argv[2]: the bundle's path. Each invocation's
 * context counts its time left down from the 60 s timeout, so middy ends it there and a sweep unit
 * keeps to its share of it.
 */
const bundle = process.argv[2];
const started = process.hrtime.bigint();
const { handler } = require(bundle);
const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
// The function's logs are not the benchmark's output.
console.log = () => {};
console.info = () => {};
console.warn = () => {};

/** The functions' timeout (serverless.yml): each invocation's clock counts down from it, as Lambda's does. */
const TIMEOUT_MS = 60_000;

const context = (name) => {
  const deadline = Date.now() + TIMEOUT_MS;
  return {
    functionName: name,
    awsRequestId: `bench-${Date.now()}-${Math.random().toString(16).slice(2)}`,
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
};

process.on('message', async (message) => {
  if (message.stats) {
    // maxRSS: the peak resident memory of this process so far, in kilobytes.
    process.send({ id: message.id, maxRssKb: process.resourceUsage().maxRSS });
    return;
  }
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const cpuMs = () => {
    const { user, system } = process.cpuUsage(cpu0);
    return (user + system) / 1000;
  };
  try {
    const result = await handler(message.event, context('bench'));
    process.send({ id: message.id, ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: cpuMs(), result });
  } catch (error) {
    process.send({
      id: message.id,
      ms: Number(process.hrtime.bigint() - t0) / 1e6,
      cpuMs: cpuMs(),
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
});
process.send({ ready: true, loadMs });
