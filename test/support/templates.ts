import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Reading the packaged CloudFormation templates scripts/template-check.sh writes (contract tests). */

export const ROOT = join(__dirname, '..', '..');
export const HOME_TEMPLATE = join(ROOT, '.serverless', 'cloudformation-template-update-stack.json');
export const packagedTemplate = (folder: string) =>
  join(ROOT, '.local', folder, 'cloudformation-template-update-stack.json');
export const CLOUDTRAIL = 'AWS API Call via CloudTrail';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Pattern = { [key: string]: Json };
export interface Resource {
  Type: string;
  Condition?: string;
  Properties: Record<string, Json>;
}
export interface Target {
  Id: string;
  Arn: Json;
  RoleArn?: Json;
  DeadLetterConfig?: { Arn: Json };
}

export function resourcesOf(path: string): Record<string, Resource> {
  if (!existsSync(path)) throw new Error('run `bash scripts/template-check.sh` first');
  return (JSON.parse(readFileSync(path, 'utf8')) as { Resources: Record<string, Resource> }).Resources;
}

export const ofType = (resources: Record<string, Resource>, type: string) =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);

/**
 * The home template less the rules only an organisation deployment routes to a rule's function
 * (Rule.organisation: `<Rule>Organisation<n>EventRule`): they watch the home region's own bus.
 */
export const withoutOrganisationRouting = (resources: Record<string, Resource>) =>
  Object.fromEntries(Object.entries(resources).filter(([id]) => !/Organisation\d+EventRule$/.test(id)));

/** The event patterns of the EventBridge rules (schedules have none). */
export const patternsOf = (resources: Record<string, Resource>) =>
  ofType(resources, 'AWS::Events::Rule')
    .map(([, rule]) => rule.Properties.EventPattern as Pattern | undefined)
    .filter((pattern): pattern is Pattern => pattern !== undefined);

export const strings = (value: Json | undefined): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/**
 * What the home functions subscribe to, one pattern per CloudTrail call (source, detail-type,
 * eventSource, eventName) and per EBS notification (source, detail-type), with a readable name.
 */
export function subscriptions(patterns: Pattern[]): { name: string; pattern: Pattern }[] {
  return patterns.flatMap((pattern) => {
    const detail = (pattern.detail ?? {}) as Pattern;
    const detailTypes = strings(pattern['detail-type']);
    const calls = detailTypes.includes(CLOUDTRAIL)
      ? strings(detail.eventName).map((eventName) => ({
          name: `${strings(pattern.source)} ${strings(detail.eventSource)} ${eventName}`,
          pattern: {
            source: pattern.source ?? null,
            'detail-type': [CLOUDTRAIL],
            detail: {
              ...(detail.eventSource ? { eventSource: detail.eventSource } : {}),
              eventName: [eventName],
            },
          },
        }))
      : [];
    const notifications = detailTypes
      .filter((detailType) => detailType.startsWith('EBS '))
      .map((detailType) => ({
        name: `${strings(pattern.source)} ${detailType}`,
        pattern: { source: pattern.source ?? null, 'detail-type': [detailType] },
      }));
    return [...calls, ...notifications];
  });
}

/** A forwarding pattern lets through everything a narrower pattern matches: each of its filters is looser. */
export function covers(forwarding: Json, narrower: Json | undefined): boolean {
  if (Array.isArray(forwarding)) {
    const allowed = new Set(forwarding.map((value) => JSON.stringify(value)));
    return Array.isArray(narrower) && narrower.every((value) => allowed.has(JSON.stringify(value)));
  }
  if (forwarding !== null && typeof forwarding === 'object') {
    if (narrower === null || typeof narrower !== 'object' || Array.isArray(narrower)) return false;
    return Object.entries(forwarding).every(([key, value]) => covers(value, narrower[key]));
  }
  return false;
}

export const uncovered = (forwarded: Pattern[], home: Pattern[]) =>
  subscriptions(home)
    .filter(({ pattern }) => !forwarded.some((forwarding) => covers(forwarding, pattern)))
    .map(({ name }) => name);
