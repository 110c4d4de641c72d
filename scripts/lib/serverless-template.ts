import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Tags } from 'yaml';
import { deployment, ruleParameters } from './deployment';

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

interface FunctionDefinition {
  handler: string;
  role: string;
  environment?: Record<string, Json>;
}

export interface ServerlessDefinition {
  service: string;
  /** Every parameter with its default: serverless.yml's, and the generated parts' (each rule's mode). */
  params: { default: Record<string, string | number> };
  provider: { environment: Record<string, Json> };
  functions: Record<string, FunctionDefinition>;
  resources: {
    Resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
    Outputs?: Record<string, { Value: Json }>;
  };
}

/** How serverless.yml includes the parts generated from the rule registry. */
const GENERATED = /^\$\{file\(\.\/scripts\/serverless\/rules\.cjs\):(\w+)\}$/;

/** The generated parts in place of their `${file(...)}` references, as serverless includes them. */
function expandGenerated(value: Json, generated: Readonly<Record<string, Json>>): Json {
  if (typeof value === 'string') {
    const name = GENERATED.exec(value)?.[1];
    if (name === undefined) return value;
    const part = generated[name];
    if (part === undefined) throw new Error(`scripts/serverless/rules.cjs has no ${name}`);
    return part;
  }
  if (Array.isArray(value)) return value.map((item) => expandGenerated(item, generated));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, expandGenerated(item, generated)]),
    );
  }
  return value;
}

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** serverless's merge of `functions:` and `resources:` given as lists: objects merged key by key. */
function mergeList(value: Json): Json {
  if (!Array.isArray(value)) return value;
  const merge = (target: { [key: string]: Json }, source: Json): { [key: string]: Json } => {
    if (!isObject(source)) throw new Error(`cannot merge ${JSON.stringify(source)}`);
    for (const [key, item] of Object.entries(source)) {
      const existing = target[key];
      target[key] = isObject(existing) && isObject(item) ? merge({ ...existing }, item) : item;
    }
    return target;
  };
  return value.reduce<{ [key: string]: Json }>(merge, {});
}

/**
 * serverless.yml as data, with the parts generated from the rule registry expanded (the same
 * generator serverless includes), for local provisioning and the contract tests.
 */
export function readServerlessDefinition(root = join(__dirname, '..', '..')): ServerlessDefinition {
  const parsed = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { customTags: shortForms }) as {
    [key: string]: Json;
  };
  const generated = deployment() as unknown as Record<string, Json>;
  const expanded = expandGenerated(parsed, generated) as { [key: string]: Json };
  const definition = {
    ...expanded,
    functions: mergeList(expanded.functions ?? {}),
    resources: mergeList(expanded.resources ?? {}),
  } as unknown as ServerlessDefinition;
  definition.params.default = { ...definition.params.default, ...ruleParameters() };
  return definition;
}

/**
 * The environment every function deploys with: the provider's, and what each function adds (the
 * generated rule modes and loop-guard roles, the same for all; a function that differs is refused).
 */
export function functionEnvironment(definition: ServerlessDefinition): Record<string, Json> {
  const environment: Record<string, Json> = { ...definition.provider.environment };
  for (const [name, fn] of Object.entries(definition.functions)) {
    for (const [variable, value] of Object.entries(fn.environment ?? {})) {
      const set = environment[variable];
      if (variable in environment && JSON.stringify(set) !== JSON.stringify(value)) {
        throw new Error(`${name} sets ${variable} apart from the other functions`);
      }
      environment[variable] = value;
    }
  }
  return environment;
}

/** The parameter a value reads, `${param:name}` or `${param:name, 'fallback'}`, if it is one. */
export const parameterOf = (value: Json | undefined): string | undefined =>
  typeof value === 'string' ? /^\$\{param:(\w+)(?:, '[^']*')?\}$/.exec(value)?.[1] : undefined;

/**
 * Resolves the serverless variables this project uses (${param:x}, ${param:x, 'fallback'}, ${sls:stage},
 * ${self:service}, ${aws:region}) against the default parameters. Anything else is left for the caller to reject.
 */
export function resolveVariables(
  value: Json,
  definition: ServerlessDefinition,
  stage: string,
  region: string,
): Json {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{(param|sls|self|aws):([A-Za-z]+)(?:, '([^']*)')?\}/g,
      (whole, source: string, name: string, fallback: string | undefined) => {
        if (source === 'param' && name in definition.params.default)
          return String(definition.params.default[name]);
        if (source === 'param' && fallback !== undefined) return fallback;
        if (source === 'sls' && name === 'stage') return stage;
        if (source === 'self' && name === 'service') return definition.service;
        if (source === 'aws' && name === 'region') return region;
        return whole;
      },
    );
  }
  if (Array.isArray(value)) return value.map((item) => resolveVariables(item, definition, stage, region));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveVariables(item, definition, stage, region)]),
    );
  }
  return value;
}
