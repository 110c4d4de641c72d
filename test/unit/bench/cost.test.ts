import { costPerMillion, LAMBDA_PRICES, memoryFor } from '../../../bench/cost';

describe('Lambda cost per million events', () => {
  it('multiplies billed GB-seconds by the price and adds the request price', () => {
    // Prepare: 100 ms at 1,024 MB is 0.1 GB-s an event
    const prices = { ...LAMBDA_PRICES, perGbSecond: 0.00001, perRequest: 0.0000002 };
    // Act
    const cost = costPerMillion({ durationMs: 100, memoryMb: 1024 }, prices);
    // Assess: 1e6 × (0.1 × 0.00001 + 0.0000002) = 1.2
    expect(cost.gbSecondsPerEvent).toBeCloseTo(0.1, 10);
    expect(cost.perMillionUsd).toBeCloseTo(1.2, 10);
  });

  it('bills a started millisecond as a whole one, and never less than 1 ms', () => {
    expect(costPerMillion({ durationMs: 12.01, memoryMb: 128 }).billedMs).toBe(13);
    expect(costPerMillion({ durationMs: 0.2, memoryMb: 128 }).billedMs).toBe(1);
  });

  it('writes the formula with its inputs, so a reader can redo the sum', () => {
    // Act
    const cost = costPerMillion({ durationMs: 250, memoryMb: 256 });
    // Assess
    expect(cost.formula).toBe(
      `1,000,000 × (250 ms / 1000 × 256 MB / 1024 × $${LAMBDA_PRICES.perGbSecond} per GB-s + $0.0000002 per request) = $${cost.perMillionUsd.toFixed(2)}`,
    );
    expect(cost.perMillionUsd).toBeCloseTo(1e6 * (0.25 * 0.25 * LAMBDA_PRICES.perGbSecond + 0.0000002), 6);
  });

  it('gives a function at least Lambda’s smallest memory, and enough for its measured peak', () => {
    expect(memoryFor(90)).toBe(128);
    expect(memoryFor(141.2)).toBe(142);
  });

  it('names where its prices come from and when they were read', () => {
    expect(LAMBDA_PRICES.source).toMatch(/^https:\/\/aws\.amazon\.com\/lambda\/pricing/);
    expect(LAMBDA_PRICES.asOf).toMatch(/^\d{4}-\d{2}/);
    expect(LAMBDA_PRICES.architecture).toBe('arm64');
  });
});
