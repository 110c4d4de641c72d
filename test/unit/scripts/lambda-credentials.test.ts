import { join } from 'node:path';
import { build } from 'esbuild';
import { cliOptions, options } from '../../../scripts/lib/esbuild-options';

const root = join(__dirname, '..', '..', '..');

/** The packages a real entry point's bundle is made of. */
async function packagesOf(
  entry: string,
  buildOptions: typeof options | typeof cliOptions,
): Promise<Set<string>> {
  const result = await build({
    ...buildOptions,
    entryPoints: [join(root, entry)],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return new Set(
    Object.keys(result.metafile.inputs).flatMap(
      (input) => /node_modules\/(@aws-sdk\/[a-z0-9-]+)\//.exec(input)?.[1] ?? [],
    ),
  );
}

/** Bundles `source` with the function options and runs it with `env` as the process environment. */
async function runBundled(source: string, env: Record<string, string>): Promise<unknown> {
  const { outputFiles } = await build({
    ...options,
    stdin: { contents: source, resolveDir: root, loader: 'js' },
    write: false,
    logLevel: 'silent',
  });
  const saved = { ...process.env };
  try {
    for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
    Object.assign(process.env, env);
    const module = { exports: {} as unknown };
    new Function('module', 'exports', 'require', outputFiles[0]?.text ?? '')(module, module.exports, require);
    return await (module.exports as () => Promise<unknown>)();
  } finally {
    process.env = saved;
  }
}

describe("a function's credentials are the environment's, as Lambda provides them", () => {
  it("leaves the default chain's other providers (profiles, SSO, web identity) out of a function bundle", async () => {
    // Act
    const packages = await packagesOf('functions/ssh-open-to-world.ts', options);
    // Assess
    expect(packages.has('@aws-sdk/credential-provider-env')).toBe(true);
    for (const left of ['credential-provider-node', 'credential-provider-ini', 'credential-provider-sso'])
      expect(packages.has(`@aws-sdk/${left}`)).toBe(false);
  });

  it('keeps the full chain in the command line, which people run with profiles and SSO', async () => {
    // Act
    const packages = await packagesOf('cli/index.ts', cliOptions);
    // Assess
    expect(packages.has('@aws-sdk/credential-provider-node')).toBe(true);
    expect(packages.has('@aws-sdk/credential-provider-sso')).toBe(true);
  });

  it("resolves the SDK's default provider to the environment's credentials", async () => {
    // Arrange
    const source =
      "const { defaultProvider } = require('@aws-sdk/credential-provider-node'); module.exports = () => defaultProvider()();";
    // Act
    const credentials = await runBundled(source, {
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    });
    // Assess
    expect(credentials).toMatchObject({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  it('fails clearly, reading no file, when the environment holds no credentials', async () => {
    // Arrange: a profile the full chain would read from ~/.aws
    const source =
      "const { defaultProvider } = require('@aws-sdk/credential-provider-node'); module.exports = () => defaultProvider()();";
    // Act / Assess
    await expect(
      runBundled(source, { AWS_PROFILE: 'someone', AWS_CONFIG_FILE: '/nonexistent' }),
    ).rejects.toThrow(/environment variable credentials/);
  });
});
