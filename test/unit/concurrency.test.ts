import { mapWithConcurrency, settleWhile, settleWithConcurrency } from '../../shared/concurrency';

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('bounded concurrency', () => {
  it('rejects with the first failure only once the work in flight has settled, starting nothing new', async () => {
    // Prepare
    const finished: number[] = [];
    const work = async (item: number) => {
      if (item === 0) throw new Error('item 0 failed');
      await later(20);
      finished.push(item);
      return item;
    };
    // Act
    const outcome = mapWithConcurrency([0, 1, 2, 3, 4, 5], 3, work);
    // Assess: items 1 and 2 were in flight and finished before the rejection; nothing started after it
    await expect(outcome).rejects.toThrow('item 0 failed');
    expect(finished.sort()).toEqual([1, 2]);
  });

  it('settles every item whatever fails, in input order', async () => {
    // Act
    const settled = await settleWithConcurrency([1, 2, 3, 4], 2, async (item) => {
      await later(5 * (4 - item));
      if (item === 2) throw new Error('two');
      return item * 10;
    });
    // Assess
    expect(settled).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('two') },
      { status: 'fulfilled', value: 30 },
      { status: 'fulfilled', value: 40 },
    ]);
  });

  it('starts no item once told to stop, lets those in flight settle, and returns the started prefix', async () => {
    // Prepare: stop once two items have finished
    const started: number[] = [];
    let finished = 0;
    // Act
    const settled = await settleWhile(
      [0, 1, 2, 3, 4, 5, 6],
      2,
      async (item) => {
        started.push(item);
        await later(5);
        finished += 1;
        return item;
      },
      () => finished < 2,
    );
    // Assess: 0 and 1 ran; 2 started when one had finished, and finished though the second stopped the rest
    expect(started).toEqual([0, 1, 2]);
    expect(settled).toEqual([0, 1, 2].map((value) => ({ status: 'fulfilled', value })));
  });

  it('always starts the first item, so a caller makes progress', async () => {
    // Act
    const settled = await settleWhile(
      [7, 8],
      2,
      async (item) => item,
      () => false,
    );
    // Assess
    expect(settled).toEqual([{ status: 'fulfilled', value: 7 }]);
  });
});
