import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** scripts/lib/cli-loader.cjs: the command line's entry, running its bundle through V8's code cache. */
describe('the command line loader', () => {
  function installed(bundleSource: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'cli-loader-'));
    copyFileSync(
      join(__dirname, '..', '..', '..', 'scripts', 'lib', 'cli-loader.cjs'),
      join(dir, 'entry.js'),
    );
    writeFileSync(join(dir, 'cli.bundle.js'), bundleSource);
    return dir;
  }
  const run = (args: string[]) => execFileSync(process.execPath, args, { encoding: 'utf8' }).trim();
  const required = (dir: string) =>
    run(['-e', `console.log(require(${JSON.stringify(join(dir, 'entry.js'))}).answer)`]);

  it('runs the bundle as its own module, writes the cache once, and runs it from the cache after', () => {
    // Prepare
    const dir = installed(
      "module.exports.answer = 'one';\nif (require.main === module) console.log('main', __filename.endsWith('cli.bundle.js'));\n",
    );
    // Act
    const first = required(dir);
    const caches = readdirSync(dir).filter((file) => file.endsWith('.v8cache'));
    const second = required(dir);
    const direct = run([join(dir, 'entry.js')]);
    // Assess
    expect([first, second]).toEqual(['one', 'one']);
    expect(caches).toHaveLength(1);
    expect(readdirSync(dir).filter((file) => file.endsWith('.v8cache'))).toEqual(caches);
    expect(direct).toBe('main true');
  });

  it('never runs a stale cache: a rebuilt bundle of the same length runs its own code', () => {
    // Prepare: V8 checks a cache against the source's length only
    const dir = installed("module.exports.answer = 'one';\n");
    required(dir);
    // Act
    writeFileSync(join(dir, 'cli.bundle.js'), "module.exports.answer = 'two';\n");
    // Assess
    expect(required(dir)).toBe('two');
  });
});
