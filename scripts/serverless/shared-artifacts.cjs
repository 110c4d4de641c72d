const { rmSync } = require('node:fs');
const { join } = require('node:path');

/**
 * Functions that run the same handler deploy the same artifact. serverless-esbuild bundles each
 * handler once but zips it once per function (a rule's function and its `<id>-sweep` function,
 * scripts/lib/deployment.ts): the later functions are pointed at the first one's zip and their own
 * copy is removed, so a deployment uploads one archive per handler and both functions' code is, by
 * construction, the same bytes (the same CodeSha256 their published versions record).
 */
class SharedArtifacts {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:createDeploymentArtifacts': () => this.share() };
  }

  share() {
    const byHandler = new Map();
    for (const fn of Object.values(this.serverless.service.functions ?? {})) {
      const artifact = fn?.package?.artifact;
      if (!fn?.handler || !artifact) continue;
      const first = byHandler.get(fn.handler);
      if (first === undefined) {
        byHandler.set(fn.handler, artifact);
        continue;
      }
      if (artifact !== first) rmSync(join(this.serverless.serviceDir, artifact), { force: true });
      fn.package = { ...fn.package, artifact: first };
    }
  }
}

module.exports = SharedArtifacts;
