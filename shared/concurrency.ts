/**
 * Runs `work` over every item with at most `limit` in flight, whatever fails, and resolves once all
 * have settled; results keep the input order. For work where one failure must not stop the rest.
 */
export function settleWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  return settleWhile(items, limit, work, () => true);
}

/**
 * settleWithConcurrency, but an item starts only while `mayStart()` says yes (the first always
 * starts, so a caller always makes progress); once it says no, no item starts and the work in
 * flight settles, never abandoned. Items start in input order, so what settled is a prefix of
 * `items`: the result holds one entry for each of them, in order.
 */
export async function settleWhile<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
  mayStart: () => boolean,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = [];
  let next = 0;
  let stopped = false;
  async function worker(): Promise<void> {
    while (!stopped && next < items.length) {
      if (next > 0 && !mayStart()) {
        stopped = true;
        return;
      }
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index] as T) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Runs `work` over `items` with at most `limit` in flight; results keep the input order. After a
 * failure no item starts, and it rejects with that failure only once the work in flight has settled:
 * a Lambda that returned while work still ran would be frozen with that work half-done.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
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
