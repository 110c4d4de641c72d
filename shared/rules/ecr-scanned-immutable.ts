import { ImageTagMutability, PutImageTagMutabilityCommand } from '@aws-sdk/client-ecr';
import type { Settings } from '../config';
import {
  listRepositories,
  type RepositoryView,
  readRepository,
  ruleToAdd,
  scanCoverage,
} from '../containers/ecr';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { ECR_REPOSITORY } from '../resources/ecr-repository';
import { commaList } from '../setting-schemas';
import { clip } from '../ssh/exposure';
import * as z from '../zod';
import { defineRule, type Loaded, Stack } from './rule';
import { ruleSetting, settingsReader } from './settings';

/** The mutability enforce sets: immutable, leaving mutable only the configured tag filters. */
const wantedMutability = (settings: Settings): ImageTagMutability =>
  mine(settings).tagExclusions.length > 0
    ? ImageTagMutability.IMMUTABLE_WITH_EXCLUSION
    : ImageTagMutability.IMMUTABLE;

/**
 * Tags are immutable when the repository says IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION leaving mutable
 * no filter beyond the configured ones. MUTABLE and MUTABLE_WITH_EXCLUSION let a pushed tag be
 * moved to another image.
 */
function mutableTags(view: RepositoryView, settings: Settings): string | undefined {
  if (view.tagMutability === ImageTagMutability.IMMUTABLE) return undefined;
  if (view.tagMutability === ImageTagMutability.IMMUTABLE_WITH_EXCLUSION) {
    const beyond = view.exclusions.filter((filter) => !mine(settings).tagExclusions.includes(filter));
    return beyond.length === 0
      ? undefined
      : `tags matching ${beyond.join(', ')} stay mutable beyond the configured exclusions`;
  }
  return `tags are ${view.tagMutability}: a pushed tag can be moved to another image`;
}

const toLoaded = (
  view: RepositoryView,
  scope: { accountId: string; region: string },
): Loaded<RepositoryView> => ({
  resourceType: ECR_REPOSITORY,
  resourceId: view.repositoryName,
  arn: `arn:aws:ecr:${scope.region}:${scope.accountId}:repository/${view.repositoryName}`,
  region: scope.region,
  accountId: scope.accountId,
  // Repository tags are not read (one call per repository): exemptions come from the ledger only.
  tags: {},
  state: view,
});

/**
 * Images that hold or process PHI are scanned for vulnerabilities when pushed (risk analysis), and a
 * tag, once pushed, always names the same image (integrity: what was scanned is what runs). Drift:
 * a repository no registry scanning rule covers (or, on a BASIC registry without rules, with scan on
 * push off), or one whose tags are mutable. Enforce makes the tags immutable, keeping the previous
 * setting as the undo; scanning is account-wide (often managed by Inspector), so it only notifies,
 * naming the rule to add.
 */
const declared = {
  tagExclusions: ruleSetting({
    parameter: 'ecrTagExclusions',
    variable: 'ECR_TAG_EXCLUSIONS',
    fallback: '',
    doc: "image tag filters (wildcards, comma-separated, at most 5, e.g. `latest`) that stay mutable when enforce makes a repository's tags immutable (`IMMUTABLE_WITH_EXCLUSION`); empty: `IMMUTABLE`. A repository whose exclusions go beyond these is drift",
    schema: z.pipe(
      commaList,
      z
        .array(
          z
            .string()
            .check(
              z.regex(
                /^[a-zA-Z0-9._*-]{1,128}$/,
                'expected image tag filters (letters, digits, . _ - *), comma-separated',
              ),
            ),
        )
        .check(z.maxLength(5, 'ECR accepts at most 5 exclusion filters')),
    ),
  }),
};
const mine = settingsReader(declared);

export const ecrScannedImmutable = defineRule<RepositoryView>({
  id: 'ecr-scanned-immutable',
  settings: declared,
  title: 'ECR repository unscanned or with mutable tags',
  severity: Severity.Medium,
  // Risk analysis (known vulnerabilities of images found), integrity (a tag cannot be repointed).
  hipaa: ['164.308(a)(1)(ii)(A)', '164.312(c)(1)'],
  runbook: 'docs/runbooks/ecr-scanned-immutable.md',
  readme: {
    enforce:
      "makes image tags immutable (`PutImageTagMutability`: `IMMUTABLE`, or `IMMUTABLE_WITH_EXCLUSION` leaving the `ecrTagExclusions` filters mutable), keeping the previous setting as the undo; a repository no registry scanning rule covers is only reported, with the exact registry rule to add (the registry setting is account-wide, often Inspector's)",
  },
  undoActions: ['ecr:PutImageTagMutability'],
  defaultMode: Mode.Enforce,
  resourceType: ECR_REPOSITORY,
  triggers: {
    cloudTrail: {
      eventNames: [
        'CreateRepository',
        'PutImageTagMutability',
        'PutImageScanningConfiguration',
        'PutRegistryScanningConfiguration',
      ],
    },
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadRepositories',
      actions: ['ecr:DescribeRepositories'],
      resources: [`arn:${Stack.partition}:ecr:*:${Stack.accountId}:repository/*`],
      why: 'The sweep lists every repository of a region: the call is allowed on each.',
    },
    {
      sid: 'ReadRegistryScanning',
      actions: ['ecr:GetRegistryScanningConfiguration'],
      why: 'The registry setting has no resource ARN.',
    },
    {
      sid: 'MakeTagsImmutable',
      actions: ['ecr:PutImageTagMutability'],
      resources: [`arn:${Stack.partition}:ecr:*:${Stack.accountId}:repository/*`],
    },
  ],

  async load(ref, aws) {
    if (ref.resourceType !== ECR_REPOSITORY) return undefined;
    const view = await readRepository(aws.ecr(ref.region), ref.resourceId);
    return view && toLoaded(view, ref);
  },

  async *list(scope, aws) {
    for await (const view of listRepositories(aws.ecr(scope.region))) yield toLoaded(view, scope);
  },

  detect(resource, settings) {
    const view = resource.state;
    const mutable = mutableTags(view, settings);
    const coverage = scanCoverage(view);
    if (!mutable && coverage.scanned) return { compliant: true };
    const problems = [mutable, coverage.scanned ? undefined : `images are not scanned (${coverage.why})`];
    const plans = [
      mutable &&
        `set tag mutability to ${wantedMutability(settings)}${mine(settings).tagExclusions.length > 0 ? ` excluding ${mine(settings).tagExclusions.join(', ')}` : ''}`,
      !coverage.scanned && `nothing automatic for scanning: ${coverage.fix}`,
    ];
    return {
      compliant: false,
      reason: clip(
        `ECR repository ${view.repositoryName} in ${resource.region}: ${problems.filter(Boolean).join('; ')}`,
        512,
      ),
      evidence: {
        repositoryName: clip(view.repositoryName),
        tagMutability: view.tagMutability,
        tagExclusions: clip(view.exclusions.join(',')),
        registryScanType: view.registry.scanType,
        registryRules: view.registry.rules.length,
        scanned: coverage.scanned,
        scannedBy: coverage.scanned ? coverage.by : null,
        registryRuleToAdd: coverage.scanned ? null : clip(JSON.stringify(ruleToAdd(view))),
      },
      plan: clip(plans.filter(Boolean).join('; '), 512),
    };
  },

  async remediate(resource, _finding, { aws, settings, step }) {
    const view = resource.state;
    if (mutableTags(view, settings)) {
      const wanted = wantedMutability(settings);
      const filters = (exclusions: readonly string[]) =>
        exclusions.length > 0
          ? {
              imageTagMutabilityExclusionFilters: exclusions.map((filter) => ({
                filter,
                filterType: 'WILDCARD' as const,
              })),
            }
          : {};
      await step(
        'PutImageTagMutability',
        () =>
          aws.ecr(resource.region).send(
            new PutImageTagMutabilityCommand({
              repositoryName: view.repositoryName,
              imageTagMutability: wanted,
              ...filters(mine(settings).tagExclusions),
            }),
          ),
        {
          undo: {
            service: 'ecr',
            action: 'PutImageTagMutability',
            input: {
              repositoryName: view.repositoryName,
              imageTagMutability: view.tagMutability,
              ...filters(view.exclusions),
              Region: resource.region,
            },
          },
          output: (result) => ({ imageTagMutability: result.imageTagMutability ?? null }),
        },
      );
    }
    const coverage = scanCoverage(view);
    if (!coverage.scanned) {
      // The registry setting is account-wide and often Inspector's: a person changes it.
      throw new RemediationDeclined(
        clip(`Scanning of ${view.repositoryName} is not changed by the responder: ${coverage.fix}`, 512),
      );
    }
  },
});
