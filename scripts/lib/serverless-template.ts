import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Tags } from 'yaml';

/** CloudFormation short forms (!Ref, !GetAtt, ...) read as their long JSON forms. */
const shortForms: Tags = ['Ref', 'GetAtt', 'Sub', 'Join', 'If', 'Not', 'Equals', 'Select', 'Split'].flatMap(
  (name) => {
    const key = name === 'Ref' ? 'Ref' : `Fn::${name}`;
    const scalar = (value: string) => ({ [key]: name === 'GetAtt' ? value.split('.') : value });
    return [
      { tag: `!${name}`, resolve: scalar },
      {
        tag: `!${name}`,
        collection: 'seq' as const,
        resolve: (seq: { toJSON(): unknown }) => ({ [key]: seq.toJSON() }),
      },
    ];
  },
);

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface ServerlessDefinition {
  service: string;
  params: { default: Record<string, string | number> };
  provider: { environment: Record<string, Json> };
  functions: Record<string, { handler: string; role: string }>;
  resources: { Resources: Record<string, { Type: string; Properties?: Record<string, Json> }> };
}

/** serverless.yml as data, for local provisioning and the contract tests. */
export function readServerlessDefinition(root = join(__dirname, '..', '..')): ServerlessDefinition {
  return parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
    customTags: shortForms,
  }) as ServerlessDefinition;
}

/**
 * Resolves the serverless variables this project uses (${param:x}, ${sls:stage}, ${self:service},
 * ${aws:region}) against the default parameters. Anything else is left for the caller to reject.
 */
export function resolveVariables(
  value: Json,
  definition: ServerlessDefinition,
  stage: string,
  region: string,
): Json {
  if (typeof value === 'string') {
    return value.replace(/\$\{(param|sls|self|aws):([A-Za-z]+)\}/g, (whole, source: string, name: string) => {
      if (source === 'param' && name in definition.params.default)
        return String(definition.params.default[name]);
      if (source === 'sls' && name === 'stage') return stage;
      if (source === 'self' && name === 'service') return definition.service;
      if (source === 'aws' && name === 'region') return region;
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item) => resolveVariables(item, definition, stage, region));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveVariables(item, definition, stage, region)]),
    );
  }
  return value;
}
