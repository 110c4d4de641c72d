import { mapWithConcurrency, settleWithConcurrency } from '../../shared/concurrency';

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
});
