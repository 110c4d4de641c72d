import { join } from 'node:path';
import { build } from 'esbuild';
import { options } from '../../../scripts/lib/esbuild-options';

const root = join(__dirname, '..', '..', '..');

/** Bundles `source` with the build's options, in memory, and returns the bundle's text. */
async function bundled(source: string): Promise<string> {
  const { outputFiles } = await build({
    ...options,
    stdin: { contents: source, resolveDir: root, loader: 'ts' },
    write: false,
    logLevel: 'silent',
  });
  return outputFiles[0]?.text ?? '';
}

describe('a bundle keeps only the SDK schemas of the commands it sends', () => {
  it("leaves out the schemas of EC2's other operations when only DescribeRegions is sent", async () => {
    // Prepare
    const source =
      "import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';" +
      'export const send = () => new EC2Client({}).send(new DescribeRegionsCommand({}));';
    // Act
    const text = await bundled(source);
    // Assess: DescribeRegions' own shapes are there, RunInstances' are not
    expect(text.includes('"DescribeRegionsRequest"')).toBe(true);
    expect(text.includes('"RunInstancesRequest"')).toBe(false);
    expect(text.length).toBeLessThan(400_000);
  });
});

describe('a rule bundle carries only the parts of zod it uses', () => {
  it("leaves out zod's other locales and its JSON Schema reader (`import * as z`, never `import { z }`)", async () => {
    // Act: the real entry point, as npm run build and serverless package build it
    const result = await build({
      ...options,
      entryPoints: [join(root, 'functions', 'ecr-scanned-immutable.ts')],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const [bundle] = Object.values(result.metafile.outputs);
    const zodFiles = Object.entries(bundle?.inputs ?? {})
      .filter(([input, { bytesInOutput }]) => input.includes('node_modules/zod/') && bytesInOutput > 0)
      .map(([input]) => input);
    // Assess
    expect(zodFiles.filter((file) => /\/locales\/(?!en\.js)/.test(file))).toEqual([]);
    expect(zodFiles.filter((file) => /from-json-schema/.test(file))).toEqual([]);
  });
});
