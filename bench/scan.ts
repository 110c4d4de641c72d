import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordCalls } from '../scripts/lib/recorder';
import { type Bench, ROOT } from './harness';
import { SWEEP_MODES, SWEPT } from './sweep';

/** Our read-only `scan` of one rule family, the bundled command line in its own process. */
export interface ScanResult {
  fn: string;
  scale: number;
  wallMs: number;
  /** The process's user+system CPU, load included, in ms: compared with c7n's whole process. */
  cpuMs: number;
  calls: number;
  peakRssMb: number;
  /** Findings the scan reported (drift and exempted). */
  found: number;
  error?: string;
}

export const CLI_BUNDLE = join(ROOT, 'dist', 'cli', 'compliance-responder.js');
/** The command line's exit codes that are answers, not failures: 0 nothing found, 3 drift found. */
const ANSWERS = [0, 3];

/** Each swept family's `scan --rule <id> --json`, one process each, through the same moto recorder as c7n. */
export async function measureScans(bench: Bench, scale: number): Promise<ScanResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scan-'));
  const results: ScanResult[] = [];
  for (const { fn } of SWEPT) {
    const usageFile = join(dir, `${fn}-${scale}.json`);
    let stdout = '';
    let error: string | undefined;
    let wallMs = Number.NaN;
    const calls = await recordCalls(async () => {
      const started = performance.now();
      await new Promise<void>((resolve) => {
        execFile(
          process.execPath,
          [join(__dirname, 'scan-runner.cjs'), CLI_BUNDLE, 'scan', '--rule', fn, '--json'],
          {
            env: { ...process.env, ...bench.env(SWEEP_MODES), BENCH_USAGE_FILE: usageFile },
            maxBuffer: 256 * 1024 * 1024,
          },
          (failure, out, err) => {
            stdout = out;
            const code = failure ? Number((failure as { code?: number }).code ?? 1) : 0;
            if (!ANSWERS.includes(code)) error = `exit ${code}: ${err.trim().split('\n').slice(-1)[0] ?? ''}`;
            resolve();
          },
        );
      });
      wallMs = performance.now() - started;
    });
    let usage: { cpuMs: number; maxRssKb: number } | undefined;
    try {
      usage = JSON.parse(readFileSync(usageFile, 'utf8'));
    } catch {
      error ??= 'the scan process wrote no CPU figure';
    }
    let found = 0;
    try {
      const report = JSON.parse(stdout) as { findings?: unknown[]; errors?: unknown[] };
      found = report.findings?.length ?? 0;
      if ((report.errors?.length ?? 0) > 0) error ??= `${report.errors?.length} listing(s) failed`;
    } catch {
      error ??= 'the scan printed no JSON report';
    }
    results.push({
      fn,
      scale,
      wallMs,
      cpuMs: usage?.cpuMs ?? Number.NaN,
      calls: calls.length,
      peakRssMb: (usage?.maxRssKb ?? Number.NaN) / 1024,
      found,
      error,
    });
  }
  return results;
}
