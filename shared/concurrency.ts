/** Runs `work` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Retries `read` until `done` says yes, with a bounded number of attempts (EC2 reads lag writes). */
export async function retryUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { attempts = 5, delayMs = 500 }: { attempts?: number; delayMs?: number } = {},
): Promise<{ value: T; satisfied: boolean }> {
  let value = await read();
  for (let attempt = 1; attempt < attempts && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
    value = await read();
  }
  return { value, satisfied: done(value) };
}
