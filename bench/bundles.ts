import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { options } from '../scripts/lib/esbuild-options';
import { bundlePath, ROOT } from './harness';
import { type Summary, summarize } from './stats';

/** Per function: the deployed bundle against the same handler taking the SDK from node_modules. */
export interface BundleResult {
  name: string;
  /** loadCpuMs: the load's user+system CPU (absent from reports written before it was measured). */
  bundled: { rawBytes: number; gzipBytes: number; loadMs: Summary; loadCpuMs?: Summary };
  external: { rawBytes: number; gzipBytes: number; loadMs: Summary; loadCpuMs?: Summary };
}

export const functionNames = (): string[] =>
  readdirSync(join(ROOT, 'functions'))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => basename(file, '.ts'))
    .sort();

/** The handler with every package left to node_modules (bench/out/ sits inside the repository, so they resolve). */
async function buildExternal(name: string): Promise<string> {
  const outfile = join(ROOT, 'bench', 'out', 'external', `${name}.js`);
  await build({
    ...options,
    entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
    outfile,
    packages: 'external',
  });
  return outfile;
}

const sizes = (file: string) => {
  const bytes = readFileSync(file);
  return { rawBytes: bytes.length, gzipBytes: gzipSync(bytes).length };
};

/**
 * Time to require() the module, measured inside a fresh Node process (what a Lambda cold start
 * pays), and the process's CPU (user+sys) over the same load: wall time counts waiting for a core
 * on a busy machine, CPU time mostly does not.
 */
function coldLoad(file: string, env: Record<string, string>): { ms: number; cpuMs: number } {
  const script =
    'const c=process.cpuUsage(),t=process.hrtime.bigint();require(process.argv[1]);' +
    'const u=process.cpuUsage(c);' +
    'process.stdout.write(JSON.stringify([Number(process.hrtime.bigint()-t)/1e6,(u.user+u.system)/1e3]))';
  try {
    const out = execFileSync(process.execPath, ['-e', script, file], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [ms, cpuMs] = JSON.parse(out) as [number, number];
    return { ms, cpuMs };
  } catch (error) {
    // The stack of a minified bundle is one huge line: keep the message.
    const stderr = String((error as { stderr?: string }).stderr ?? error);
    const message = stderr.split('\n').find((line) => /Error|error:/.test(line) && line.length < 500);
    throw new Error(`${file} failed to load: ${message ?? stderr.slice(0, 300)}`);
  }
}

export async function measureBundles(
  env: Record<string, string>,
  runs: number,
  names = functionNames(),
): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  for (const name of names) {
    const bundled = bundlePath(name);
    const external = await buildExternal(name);
    // Alternate the two variants so a busy moment of the machine hits both alike.
    const loads = {
      bundled: [] as { ms: number; cpuMs: number }[],
      external: [] as { ms: number; cpuMs: number }[],
    };
    for (let run = 0; run < runs; run++) {
      loads.bundled.push(coldLoad(bundled, env));
      loads.external.push(coldLoad(external, env));
    }
    const timings = (of: { ms: number; cpuMs: number }[]) => ({
      loadMs: summarize(of.map((load) => load.ms)),
      loadCpuMs: summarize(of.map((load) => load.cpuMs)),
    });
    results.push({
      name,
      bundled: { ...sizes(bundled), ...timings(loads.bundled) },
      external: { ...sizes(external), ...timings(loads.external) },
    });
  }
  return results;
}
