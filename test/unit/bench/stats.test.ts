import { percentile, ratio, summarize } from '../../../bench/stats';

describe('bench statistics', () => {
  it('summarises a sample as its median, quartiles, range and size, whatever the input order', () => {
    // Prepare
    const samples = [9, 1, 5, 3, 7];
    // Act
    const summary = summarize(samples);
    // Assess
    expect(summary).toEqual({ n: 5, median: 5, p25: 3, p75: 7, min: 1, max: 9 });
  });

  it('takes the median of an even sample between its two middle values', () => {
    // Act
    const summary = summarize([4, 1, 3, 2]);
    // Assess
    expect(summary.median).toBe(2.5);
    expect(summary.p25).toBe(1.75);
    expect(summary.p75).toBe(3.25);
  });

  it('gives a one-value sample that value everywhere', () => {
    expect(summarize([42])).toEqual({ n: 1, median: 42, p25: 42, p75: 42, min: 42, max: 42 });
  });

  it('refuses an empty sample rather than reporting a number', () => {
    expect(() => summarize([])).toThrow('empty');
    expect(() => percentile([], 0.5)).toThrow('empty');
  });

  it('leaves a ratio undefined when its denominator is zero or a side is missing', () => {
    expect(ratio(6, 3)).toBe(2);
    expect(ratio(6, 0)).toBeUndefined();
    expect(ratio(undefined, 3)).toBeUndefined();
    expect(ratio(3, undefined)).toBeUndefined();
  });
});
