import type { BuildOptions } from 'esbuild';
import { onlyDeclaredClients } from './bundle-clients';
import { environmentCredentialsOnly } from './lambda-credentials';
import { treeShakableSdkSchemas } from './sdk-schemas';

/**
 * The one set of esbuild options, used by `npm run build` (scripts/build.ts) and, through
 * esbuild.config.cjs, by serverless-esbuild for `serverless package`, so the bundle tested locally is
 * the bundle deployed. SDK v3 is bundled (not taken from the runtime), CommonJS, node20 so one file
 * runs on Node 20 and on the nodejs22.x runtime. A rule function bundles only the SDK clients its
 * role may use (./bundle-clients.ts). No keepNames: it costs every cold start a call per function
 * in the bundle, and the one name that matters, an error's, each error class spells itself. SDK
 * schemas are made tree-shakable (./sdk-schemas.ts), so a bundle keeps only its commands' shapes. A
 * function's credentials are the environment's, as Lambda provides them (./lambda-credentials.ts).
 * Validation is zod/mini (shared/zod.ts), which tree-shakes where classic zod's methods would bring
 * its whole API (about 60 KB) into every bundle.
 */
export const options = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  external: [],
  plugins: [onlyDeclaredClients(), treeShakableSdkSchemas(), environmentCredentialsOnly()],
} satisfies BuildOptions;

/** The command line's bundle: the same, but people run it with profiles and SSO (the full chain). */
export const cliOptions = {
  ...options,
  plugins: [treeShakableSdkSchemas()],
} satisfies BuildOptions;
