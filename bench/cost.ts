/**
 * What a million events cost on Lambda (arm64, us-east-1), from a measured duration and memory.
 * Prices as published on https://aws.amazon.com/lambda/pricing/ (first pricing tier; the free tier
 * is left out so the figure scales). Update PRICES_AS_OF with the prices when they change.
 */
export interface LambdaPrices {
  source: string;
  asOf: string;
  region: string;
  architecture: string;
  perGbSecond: number;
  perRequest: number;
}

export const LAMBDA_PRICES: LambdaPrices = {
  source: 'https://aws.amazon.com/lambda/pricing/',
  asOf: '2026-05',
  region: 'us-east-1',
  architecture: 'arm64',
  /** USD per GB-second, arm64, first 7.5 billion GB-seconds a month. */
  perGbSecond: 0.0000133334,
  /** USD per request ($0.20 per million). */
  perRequest: 0.0000002,
};

/** Lambda bills duration in 1 ms steps and memory as configured: 128 MB to 10,240 MB. */
export const MIN_MEMORY_MB = 128;

export interface CostInputs {
  /** Median billed duration of one event, in milliseconds. */
  durationMs: number;
  /** Memory the function is given, in MB (what is billed, not what is used). */
  memoryMb: number;
}

export interface Cost extends CostInputs {
  billedMs: number;
  gbSecondsPerEvent: number;
  perMillionUsd: number;
  formula: string;
}

/** The smallest memory setting that holds a measured peak RSS (Lambda's minimum is 128 MB). */
export const memoryFor = (peakRssMb: number): number => Math.max(MIN_MEMORY_MB, Math.ceil(peakRssMb));

export function costPerMillion(inputs: CostInputs, prices: LambdaPrices = LAMBDA_PRICES): Cost {
  const billedMs = Math.max(1, Math.ceil(inputs.durationMs));
  const gbSecondsPerEvent = (billedMs / 1000) * (inputs.memoryMb / 1024);
  const perMillionUsd = 1_000_000 * (gbSecondsPerEvent * prices.perGbSecond + prices.perRequest);
  return {
    ...inputs,
    billedMs,
    gbSecondsPerEvent,
    perMillionUsd,
    formula:
      `1,000,000 × (${billedMs} ms / 1000 × ${inputs.memoryMb} MB / 1024 × $${prices.perGbSecond} per GB-s` +
      ` + $${prices.perRequest.toFixed(7)} per request) = $${perMillionUsd.toFixed(2)}`,
  };
}
