import { readServerlessDefinition } from '../scripts/lib/serverless-template';

/** Lambda gives a function one full vCPU at 1,769 MB, and a share in proportion below it. */
export const MB_PER_VCPU = 1769;

/** Memory and timeout of each function as the generated deployment configures it. */
export interface LambdaLimits {
  source: string;
  byFunction: Record<string, { memoryMb: number; timeoutSeconds: number }>;
  /**
   * How many resources one sweep unit judges (`sweepUnitResources`, shared/pipeline/sweep-units.ts).
   * Absent: a sweep is one invocation, its whole listing one unit.
   */
  unitResources?: number;
}

/**
 * The vCPU share at a memory setting. A Node handler runs on one thread, so above 1,769 MB (more
 * than one vCPU) it gains nothing: capped at 1.
 */
export const vcpuShare = (memoryMb: number): number => Math.min(1, memoryMb / MB_PER_VCPU);

interface Sized {
  memorySize?: number;
  timeout?: number;
}

/** serverless.yml's provider memorySize and timeout, with any function's own over them. */
export function deployedLimits(): LambdaLimits {
  const definition = readServerlessDefinition();
  const provider = definition.provider as Sized;
  const byFunction: LambdaLimits['byFunction'] = {};
  for (const [name, fn] of Object.entries(definition.functions)) {
    const own = fn as Sized;
    const memoryMb = own.memorySize ?? provider.memorySize;
    const timeoutSeconds = own.timeout ?? provider.timeout;
    if (typeof memoryMb !== 'number' || typeof timeoutSeconds !== 'number') {
      throw new Error(`serverless.yml sets no numeric memorySize and timeout for ${name}`);
    }
    byFunction[name] = { memoryMb, timeoutSeconds };
  }
  const unitResources = Number(definition.params.default.sweepUnitResources);
  return {
    source: 'serverless.yml (provider, each generated function, and sweepUnitResources)',
    byFunction,
    ...(Number.isInteger(unitResources) && unitResources > 0 && { unitResources }),
  };
}
