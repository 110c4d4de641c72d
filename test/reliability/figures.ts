import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where each reliability suite leaves its figures for scripts/reliability-report.ts. */
export const FIGURES_DIR = join(__dirname, '..', '..', '.local', 'test-results', 'reliability');

export function writeFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(
    join(FIGURES_DIR, `${name}.json`),
    `${JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2)}\n`,
  );
}

/** A small seeded PRNG (mulberry32), so CI's sample of fault cases is the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `count` items of `all`, chosen by `random`, in their original order. */
export function sample<T>(all: readonly T[], count: number, random: () => number): T[] {
  const indices = all.map((_, index) => index);
  for (let i = indices.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [indices[i], indices[j]] = [indices[j] as number, indices[i] as number];
  }
  return indices
    .slice(0, count)
    .sort((a, b) => a - b)
    .map((index) => all[index] as T);
}

export const FULL = process.env.RELIABILITY_FULL === '1';
export const SEED = Number(process.env.RELIABILITY_SEED ?? 20261124);
