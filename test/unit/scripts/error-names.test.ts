import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { options } from '../../../scripts/lib/esbuild-options';

const root = join(__dirname, '..', '..', '..');

const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(root, dir, file));

/** Every error class in the sources with the body that follows its declaration. */
function errorClasses(): { name: string; body: string }[] {
  return [...sources('shared'), ...sources('cli')].flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/^(?:export )?class (\w+) extends (\w+) \{(\n[\s\S]*?\n)?\}/gm)]
      .filter(([, name, base]) => /Error$/.test(base ?? '') || /Error$/.test(name ?? ''))
      .map(([, name, , body]) => ({ name: name ?? '', body: body ?? '' })),
  );
}

describe('error names without keepNames', () => {
  it('has every error class spell its own name, since minified bundles mangle class names', () => {
    // Prepare
    const classes = errorClasses();
    // Assess
    expect(classes.length).toBeGreaterThan(15);
    const unnamed = classes
      .filter(({ name, body }) => !body.includes(`name = '${name}'`))
      .map(({ name }) => name);
    expect(unnamed).toEqual([]);
  });

  it('names a ValidationError as such from a bundle built with the deployed options', async () => {
    // Arrange
    const source =
      "import { ValidationError } from './shared/errors'; console.log(new ValidationError('bad', 'detail').name);";
    const { outputFiles } = await build({
      ...options,
      plugins: [],
      stdin: { contents: source, resolveDir: root, loader: 'ts' },
      write: false,
      logLevel: 'silent',
    });
    const bundle = join(mkdtempSync(join(tmpdir(), 'error-names-')), 'bundle.js');
    writeFileSync(bundle, outputFiles[0]?.text ?? '');
    // Act: in its own process, as Lambda loads a bundle
    const name = execFileSync(process.execPath, [bundle], { encoding: 'utf8' }).trim();
    // Assess
    expect('keepNames' in options).toBe(false);
    expect(name).toBe('ValidationError');
  });
});
