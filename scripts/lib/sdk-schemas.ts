import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/**
 * Lets esbuild drop the schemas of the SDK operations a bundle never sends. A client's generated
 * schemas (dist-es/schemas/schemas_0.js) spell trait keys through the file's string constants,
 * `{ [_xN]: _m }`; esbuild cannot prove a computed key free of side effects, so it keeps every
 * schema that has one: all of EC2's (about 550 KB minified, a third of a rule bundle, compiled at
 * every cold start). Writing those keys as the literal strings they stand for, `{ "xmlName": _m }`,
 * changes no value and lets tree shaking work. Upstream: aws/aws-sdk-js-v3#7607, evanw/esbuild#4373.
 */

const SCHEMAS_FILE = /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](.+[\\/])?schemas[\\/]schemas_\d+\.js$/;
const STRING_CONSTANT = /^const (_\w+) = ("[^"\\]*");$/gm;
const COMPUTED_KEY = /\[(_\w+)\]:/g;

/** The schemas module with each computed key that names one of its string constants made literal. */
export function withLiteralKeys(source: string): string {
  const constants = new Map([...source.matchAll(STRING_CONSTANT)].map(([, name, value]) => [name, value]));
  return source.replace(COMPUTED_KEY, (key, name: string) => {
    const value = constants.get(name);
    return value === undefined ? key : `${value}:`;
  });
}

export function treeShakableSdkSchemas(): Plugin {
  return {
    name: 'tree-shakable-sdk-schemas',
    setup(build) {
      build.onLoad({ filter: SCHEMAS_FILE }, async (args) => ({
        contents: withLiteralKeys(await readFile(args.path, 'utf8')),
        loader: 'js',
      }));
    },
  };
}
