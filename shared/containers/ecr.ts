import {
  DescribeRepositoriesCommand,
  type ECRClient,
  GetRegistryScanningConfigurationCommand,
  type ImageTagMutability,
  paginateDescribeRepositories,
  type Repository,
} from '@aws-sdk/client-ecr';
import { isAwsError } from '../aws/aws-errors';

/** A registry scanning rule as the registry holds it: how often, and the repository filters it covers. */
export interface ScanningRule {
  readonly scanFrequency: string;
  readonly filters: readonly string[];
}

/** The region's registry scanning configuration (one per account and region; BASIC when never set). */
export interface RegistryScanning {
  readonly scanType: string;
  readonly rules: readonly ScanningRule[];
}

/** What the rule judges of a repository: its tag mutability and how (or whether) it is scanned. */
export interface RepositoryView {
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly tagMutability: ImageTagMutability | string;
  /** Tag filters exempt from the mutability setting (IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION). */
  readonly exclusions: readonly string[];
  /** The per-repository scan-on-push flag, which counts only where the registry has no scanning rules. */
  readonly scanOnPush: boolean;
  readonly registry: RegistryScanning;
}

export async function readRegistryScanning(ecr: ECRClient): Promise<RegistryScanning> {
  const { scanningConfiguration } = await ecr.send(new GetRegistryScanningConfigurationCommand({}));
  return {
    scanType: scanningConfiguration?.scanType ?? 'BASIC',
    rules: (scanningConfiguration?.rules ?? []).map((rule) => ({
      scanFrequency: rule.scanFrequency ?? 'MANUAL',
      filters: (rule.repositoryFilters ?? []).flatMap((filter) => (filter.filter ? [filter.filter] : [])),
    })),
  };
}

const toView = (repository: Repository, registry: RegistryScanning): RepositoryView => ({
  repositoryName: repository.repositoryName ?? '',
  repositoryArn: repository.repositoryArn ?? '',
  tagMutability: repository.imageTagMutability ?? 'MUTABLE',
  exclusions: (repository.imageTagMutabilityExclusionFilters ?? []).flatMap((filter) =>
    filter.filter ? [filter.filter] : [],
  ),
  scanOnPush: repository.imageScanningConfiguration?.scanOnPush === true,
  registry,
});

/** One repository and its region's registry scanning; undefined when the repository is gone. */
export async function readRepository(
  ecr: ECRClient,
  repositoryName: string,
): Promise<RepositoryView | undefined> {
  const [found, registry] = await Promise.all([
    ecr
      .send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }))
      .catch((error: unknown) => {
        if (isAwsError(error, 'RepositoryNotFoundException')) return undefined;
        throw error;
      }),
    readRegistryScanning(ecr),
  ]);
  const repository = found?.repositories?.[0];
  return repository && toView(repository, registry);
}

/** Every repository of the region, each with the registry scanning read once for all. */
export async function* listRepositories(ecr: ECRClient): AsyncIterable<RepositoryView> {
  const registry = await readRegistryScanning(ecr);
  for await (const page of paginateDescribeRepositories({ client: ecr }, {})) {
    for (const repository of page.repositories ?? []) yield toView(repository, registry);
  }
}

/** ECR's WILDCARD filter: `*` matches any characters, everything else itself, over the whole name. */
export const matchesFilter = (filter: string, name: string): boolean =>
  new RegExp(`^${filter.split('*').map(escapeRegExp).join('.*')}$`).test(name);

const escapeRegExp = (text: string) => text.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');

export type Coverage =
  | { readonly scanned: true; readonly by: string }
  | { readonly scanned: false; readonly why: string; readonly fix: string };

/**
 * Whether pushed images of the repository are scanned. The registry's rules decide (ENHANCED is
 * Inspector; BASIC is ECR's own); the per-repository scan-on-push, which AWS is retiring, counts
 * only on a BASIC registry without rules. A rule of frequency MANUAL scans nothing by itself.
 */
export function scanCoverage(view: RepositoryView): Coverage {
  const { registry, repositoryName } = view;
  const covering = registry.rules.find(
    (rule) =>
      rule.scanFrequency !== 'MANUAL' && rule.filters.some((filter) => matchesFilter(filter, repositoryName)),
  );
  if (covering) return { scanned: true, by: `${registry.scanType} ${covering.scanFrequency} registry rule` };
  if (registry.scanType === 'BASIC' && registry.rules.length === 0) {
    if (view.scanOnPush) return { scanned: true, by: 'per-repository scan on push (basic scanning)' };
    return {
      scanned: false,
      why: 'basic scanning with no registry rule, and scan on push is off for the repository',
      fix: `add the registry scanning rule ${JSON.stringify(ruleToAdd(view))} (put-registry-scanning-configuration replaces every rule and makes per-repository scan on push count no more: a filter '*' covers every repository)`,
    };
  }
  return {
    scanned: false,
    why: `no ${registry.scanType} registry scanning rule (of ${registry.rules.length}) covers the repository`,
    fix: `add the registry scanning rule ${JSON.stringify(ruleToAdd(view))} (put-registry-scanning-configuration replaces every rule: keep the ${registry.rules.length} there)`,
  };
}

/**
 * The rule to add for this repository: the frequency of the registry's continuous rule when it has
 * one (enhanced scanning), else scan on push, with the repository's own name as the filter.
 */
export function ruleToAdd(view: RepositoryView) {
  const continuous =
    view.registry.scanType === 'ENHANCED' &&
    view.registry.rules.some((rule) => rule.scanFrequency === 'CONTINUOUS_SCAN');
  return {
    scanFrequency: continuous ? 'CONTINUOUS_SCAN' : 'SCAN_ON_PUSH',
    repositoryFilters: [{ filter: view.repositoryName, filterType: 'WILDCARD' }],
  };
}
