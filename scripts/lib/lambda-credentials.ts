import { join } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * In a function bundle, the SDK's default credential chain is the environment's credentials alone.
 * Lambda always hands a function its role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN, the chain's first link; its other links (profiles, SSO, process, web
 * identity, instance metadata) never run there, yet their code (about 90 KB minified, with the
 * nested STS and SSO clients) is parsed at every cold start. The command line keeps the full chain:
 * people run it with profiles and SSO. Member-account credentials are unaffected: they are assumed
 * explicitly from these (shared/organisation/accounts.ts).
 */
const ROOT = join(__dirname, '..', '..');
const NODE_CHAIN = /^@aws-sdk\/credential-provider-node$/;

/** What @aws-sdk/credential-provider-node exports, with the environment as the whole chain. */
const ENVIRONMENT_ONLY = `
import { fromEnv } from '@aws-sdk/credential-provider-env';
export const defaultProvider = (init = {}) => fromEnv(init);
export const credentialsWillNeedRefresh = (credentials) => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials) =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300000;
`;

export function environmentCredentialsOnly(): Plugin {
  return {
    name: 'environment-credentials-only',
    setup(build) {
      build.onResolve({ filter: NODE_CHAIN }, (args) => ({
        path: args.path,
        namespace: 'environment-credentials',
      }));
      build.onLoad({ filter: /.*/, namespace: 'environment-credentials' }, () => ({
        contents: ENVIRONMENT_ONLY,
        loader: 'js',
        // The project's own dependency, whichever package asked for the chain.
        resolveDir: ROOT,
      }));
    },
  };
}
