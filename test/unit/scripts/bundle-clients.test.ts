import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { clientPackagesOf, onlyDeclaredClients } from '../../../scripts/lib/bundle-clients';
import { ruleById } from '../../../shared/rules';

const root = join(__dirname, '..', '..', '..');

import { options } from '../../../scripts/lib/esbuild-options';

/** Bundles `source` as if it were part of the rule's function, in memory. */
const bundleFor = (ruleId: string, source: string) =>
  build({
    ...options,
    stdin: { contents: source, resolveDir: root, loader: 'ts' },
    plugins: [onlyDeclaredClients(ruleById(ruleId))],
    write: false,
    logLevel: 'silent',
  });

describe('a rule function bundles only the SDK clients of the services its role may call', () => {
  it('fails the build when code in a rule bundle imports a command of a service the rule never declared', async () => {
    // Arrange: the listener rule declares no IAM action
    const source = "import { GetUserCommand } from '@aws-sdk/client-iam'; export const c = GetUserCommand;";
    // Act / Assess
    await expect(bundleFor('elb-listener-tls', source)).rejects.toThrow(
      /No matching export in "left-out-client:@aws-sdk\/client-iam" for import "GetUserCommand"/,
    );
  });

  it('builds a stand-in client that throws, naming the rule and the service, if anything constructs it', async () => {
    // Arrange
    const source =
      "import { IAMClient } from '@aws-sdk/client-iam'; module.exports = () => new IAMClient({});";
    const { outputFiles } = await bundleFor('elb-listener-tls', source);
    const sandbox = { module: { exports: {} as unknown }, exports: {}, require };
    runInNewContext(outputFiles[0]?.text ?? '', sandbox);
    // Act / Assess
    expect(typeof sandbox.module.exports).toBe('function');
    expect(() => (sandbox.module.exports as () => unknown)()).toThrow(
      /@aws-sdk\/client-iam is not in the elb-listener-tls bundle/,
    );
  });

  it("leaves the real packages of the other services out of a function's bundle, keeps its own", async () => {
    // Act: the real entry point, as npm run build and serverless package build it
    const result = await build({
      ...options,
      entryPoints: [join(root, 'functions', 'elb-listener-tls.ts')],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const packages = new Set(
      Object.keys(result.metafile.inputs).flatMap(
        (input) => /node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(input)?.[1] ?? [],
      ),
    );
    // Assess
    expect(clientPackagesOf(ruleById('elb-listener-tls'))).toEqual(expect.arrayContaining([...packages]));
    expect(packages.has('@aws-sdk/client-iam')).toBe(false);
    expect(packages.has('@aws-sdk/client-elastic-load-balancing-v2')).toBe(true);
  });

  it.each([
    // Its role may write its items, list the accounts and ask STS who it is.
    [
      'member-heartbeat',
      ['@aws-sdk/client-dynamodb', '@aws-sdk/client-organizations', '@aws-sdk/client-sts'],
    ],
    // Its role may import findings; the stream's records arrive in the event (DynamoDB's client
    // comes with the shared clients' document client). In an organisation deployment it lists the
    // accounts and assumes its member role in each (Organizations, STS).
    [
      'security-hub-findings',
      [
        '@aws-sdk/client-dynamodb',
        '@aws-sdk/client-organizations',
        '@aws-sdk/client-securityhub',
        '@aws-sdk/client-sts',
      ],
    ],
  ])("bundles the %s function, which runs no rule, with only its role's clients", async (name, expected) => {
    // Act: the real entry point
    const result = await build({
      ...options,
      entryPoints: [join(root, 'functions', `${name}.ts`)],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const packages = new Set(
      Object.keys(result.metafile.inputs).flatMap(
        (input) => /node_modules\/(@aws-sdk\/client-[a-z0-9-]+)\//.exec(input)?.[1] ?? [],
      ),
    );
    // Assess
    expect([...packages].sort()).toEqual(expected);
  });

  it("derives the packages from the rule's own statements plus the pipeline's services", () => {
    // Act
    const ssh = clientPackagesOf(ruleById('ssh-grant-expired'));
    const classic = clientPackagesOf(ruleById('elb-classic-listener-tls'));
    // Assess
    expect(ssh).toEqual(
      expect.arrayContaining([
        '@aws-sdk/client-ec2',
        '@aws-sdk/client-iam',
        '@aws-sdk/client-dynamodb',
        '@aws-sdk/client-sns',
      ]),
    );
    expect(ssh).not.toContain('@aws-sdk/client-ecs');
    // Classic and v2 share the elasticloadbalancing prefix: both clients come with it.
    expect(classic).toEqual(
      expect.arrayContaining([
        '@aws-sdk/client-elastic-load-balancing',
        '@aws-sdk/client-elastic-load-balancing-v2',
      ]),
    );
  });
});
