import {
  type FunctionConfiguration,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  paginateListVersionsByFunction,
} from '@aws-sdk/client-lambda';
import type { Summary } from '../model';

/**
 * A function's configuration against what its deployment recorded. Every deploy publishes a version
 * (serverless `versionFunctions`, on by default), and a published version is immutable: its
 * environment, role, layers and code hash are the deployment's record, which
 * lambda:UpdateFunctionConfiguration and lambda:UpdateFunctionCode cannot change. $LATEST, what the
 * triggers invoke, must still equal it. Only names are compared out loud: environment values may be
 * secrets and are never copied into evidence, logs or alerts.
 */

export interface FunctionSnapshot {
  readonly environment: Readonly<Record<string, string>>;
  readonly role: string;
  readonly layers: readonly string[];
  readonly codeSha256: string;
}

/** What differs from the deployment's record: variable names and which aspects changed. */
export interface ConfigurationChanges {
  readonly environment: readonly string[];
  readonly role: boolean;
  readonly layers: boolean;
  readonly code: boolean;
}

const snapshotOf = (config: FunctionConfiguration): FunctionSnapshot => ({
  environment: config.Environment?.Variables ?? {},
  role: config.Role ?? '',
  layers: (config.Layers ?? []).map((layer) => layer.Arn ?? ''),
  codeSha256: config.CodeSha256 ?? '',
});

/**
 * The configuration the last deployment published: the highest numbered version; undefined if none.
 * What the deployment set, which no UpdateFunctionConfiguration can change (the command line reads
 * its caps from it too).
 */
export async function deployedVersion(
  lambda: LambdaClient,
  functionName: string,
): Promise<FunctionConfiguration | undefined> {
  let deployed: FunctionConfiguration | undefined;
  for await (const page of paginateListVersionsByFunction(
    { client: lambda },
    { FunctionName: functionName },
  )) {
    for (const version of page.Versions ?? []) {
      const number = Number(version.Version);
      if (Number.isInteger(number) && number > Number(deployed?.Version ?? 0)) deployed = version;
    }
  }
  return deployed;
}

/**
 * How $LATEST differs from the last deployment's published version; undefined when no version was
 * published (nothing to compare with). A missing function throws ResourceNotFoundException.
 */
export async function readConfigurationChanges(
  lambda: LambdaClient,
  functionName: string,
): Promise<ConfigurationChanges | undefined> {
  return changesOf(await readFunctionConfigurations(lambda, functionName));
}

/** $LATEST (what runs) and the last deployment's published version (undefined: none was published). */
export interface FunctionConfigurations {
  readonly live: FunctionConfiguration;
  readonly deployed: FunctionConfiguration | undefined;
}

/** Both configurations of a function; a missing function throws ResourceNotFoundException. */
export async function readFunctionConfigurations(
  lambda: LambdaClient,
  functionName: string,
): Promise<FunctionConfigurations> {
  const live = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  return { live, deployed: await deployedVersion(lambda, functionName) };
}

/** How $LATEST differs from the published version; undefined when none was published. */
export const changesOf = ({ live, deployed }: FunctionConfigurations): ConfigurationChanges | undefined =>
  deployed && configurationChanges(snapshotOf(live), snapshotOf(deployed));

/** Names of the variables added, removed or changed, sorted. */
function changedVariables(live: FunctionSnapshot['environment'], deployed: FunctionSnapshot['environment']) {
  const names = new Set([...Object.keys(live), ...Object.keys(deployed)]);
  return [...names].filter((name) => live[name] !== deployed[name]).sort();
}

function configurationChanges(live: FunctionSnapshot, deployed: FunctionSnapshot): ConfigurationChanges {
  return {
    environment: changedVariables(live.environment, deployed.environment),
    role: live.role !== deployed.role,
    layers: live.layers.join(',') !== deployed.layers.join(','),
    code: live.codeSha256 !== deployed.codeSha256,
  };
}

const hasChanges = (changes: ConfigurationChanges): boolean =>
  changes.environment.length > 0 || changes.role || changes.layers || changes.code;

/** What no longer matches the deployment, in words ("was changed outside a deployment: role differ..."). */
export function configurationProblem(changes: ConfigurationChanges | undefined): string | undefined {
  if (!changes) return 'has no published version to compare with what the deployment recorded';
  if (!hasChanges(changes)) return undefined;
  return `was changed outside a deployment: ${describeChanges(changes)} (compared with the version the deployment published)`;
}

/** "environment (MODE_X, RESPONDER_ROLE_ARNS), role, code": what a person reads in the reason. */
function describeChanges(changes: ConfigurationChanges): string {
  return [
    changes.environment.length > 0 && `environment (${changes.environment.join(', ')})`,
    changes.role && 'role',
    changes.layers && 'layers',
    changes.code && 'code',
  ]
    .filter(Boolean)
    .join(', ');
}

/** Bounded evidence: variable names and flags, never values. */
export const changesEvidence = (changes: ConfigurationChanges): Summary => ({
  environmentChanged: changes.environment.join(',').slice(0, 512) || null,
  roleChanged: changes.role,
  layersChanged: changes.layers,
  codeChanged: changes.code,
});
