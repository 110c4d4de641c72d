import type { Settings } from '../config';
import {
  describeImage,
  type FindingSeverity,
  type FindingView,
  hasJudgedScan,
  listImages,
  readScan,
  type ScanView,
  SEVERITY_ORDER,
  severityRank,
} from '../containers/image-findings';
import { digestsInUse, type RevisionUsers } from '../containers/task-usage';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { ECR_IMAGE, imageArn, imageId, parseImageId } from '../resources/ecr-image';
import { INSPECTOR_FINDING_IDS } from '../security-hub/asff';
import { commaList } from '../setting-schemas';
import { clip, EVIDENCE_TEXT_LIMIT, REASON_TEXT_LIMIT } from '../ssh/exposure';
import * as z from '../zod';
import { defineRule, type Loaded, Stack, type Verdict } from './rule';
import { ruleSetting, settingsReader } from './settings';

/** An image as the rule judges it: its last judged scan (findings at or above the threshold) and who runs it. */
export interface ImageView {
  readonly repositoryName: string;
  readonly digest: string;
  /** False once the image was deleted from its repository (tasks may still run it). */
  readonly exists: boolean;
  readonly scan: ScanView | undefined;
  readonly users: RevisionUsers;
}

const NOBODY: RevisionUsers = { services: [], tasks: [] };

const declared = {
  severity: ruleSetting({
    parameter: 'imageFindingsSeverity',
    variable: 'IMAGE_FINDINGS_SEVERITY',
    fallback: 'CRITICAL',
    doc: 'the lowest severity of an image scan finding (ECR basic scanning or Amazon Inspector) that needs a documented mitigation: `CRITICAL`, `HIGH`, `MEDIUM`, `LOW` or `INFORMATIONAL`',
    schema: z.enum(SEVERITY_ORDER),
  }),
  repositories: ruleSetting({
    parameter: 'imageFindingsRepositories',
    variable: 'IMAGE_FINDINGS_REPOSITORIES',
    fallback: '*',
    doc: 'the ECR repositories whose images are judged: name filters with `*` wildcards, comma-separated (`*`: every repository)',
    schema: z.pipe(
      commaList,
      z
        .array(
          z
            .string()
            .check(z.regex(/^[a-z0-9._/*-]{1,256}$/, 'expected repository name filters (a-z 0-9 . _ - / *)')),
        )
        .check(z.minLength(1, 'expected at least one repository filter (* for every repository)')),
    ),
  }),
};
const mine = settingsReader(declared);

const wildcard = (filter: string) =>
  new RegExp(`^${filter.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

const inScope = (settings: Settings) => {
  const filters = mine(settings).repositories.map(wildcard);
  return (repositoryName: string) => filters.some((filter) => filter.test(repositoryName));
};

const toLoaded = (view: ImageView, scope: { accountId: string; region: string }): Loaded<ImageView> => ({
  resourceType: ECR_IMAGE,
  resourceId: imageId(view.repositoryName, view.digest),
  arn: imageArn(scope.region, scope.accountId, view.repositoryName, view.digest),
  region: scope.region,
  accountId: scope.accountId,
  // Image tags are names, not resource tags: exemptions come from the ledger only.
  tags: {},
  state: view,
});

const list = (items: readonly string[], shown = 5) =>
  `${items.slice(0, shown).join(', ')}${items.length > shown ? `, … (${items.length} in all)` : ''}`;

const exposure = ({ services, tasks }: RevisionUsers): string =>
  services.length + tasks.length === 0
    ? 'no running task uses it'
    : `running in ${tasks.length} task(s)${tasks.length > 0 ? ` (${list(tasks, 3)})` : ''}${services.length > 0 ? ` of ${services.length} service(s) (${list(services)})` : ''}`;

const findingsOf = (view: ImageView): readonly FindingView[] => view.scan?.findings ?? [];

/** Whole ids only, as many as the evidence bound holds: a clipped id would link to nothing. */
const wholeIds = (ids: readonly string[], limit = EVIDENCE_TEXT_LIMIT): string => {
  let joined = '';
  for (const id of ids) {
    const next = joined === '' ? id : `${joined},${id}`;
    if (next.length > limit) break;
    joined = next;
  }
  return joined;
};

/** Each finding id once, at the highest severity it was reported with (a CVE can hit several packages). */
const highestById = (findings: readonly FindingView[]) =>
  [
    ...findings
      .reduce((byId, { id, severity }) => {
        const seen = byId.get(id);
        if (seen === undefined || severityRank(severity) > severityRank(seen)) byId.set(id, severity);
        return byId;
      }, new Map<string, string>())
      .entries(),
  ]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, severity]) => ({ id, severity }));

const countBy = (findings: readonly FindingView[], severity: string) =>
  findings.filter((finding) => finding.severity === severity).length;

/**
 * Images that hold or process PHI carry no known vulnerability at or above a severity (CRITICAL by
 * default) without a documented mitigation: risk management. One incident per image digest, kept
 * up to date as findings arrive or clear; it stays open (nothing is ever changed or deleted) until a
 * person records a mitigation (`incidents resolve <id> --mitigation`), a later scan is clean, or the
 * image is deleted and no task runs it any more. The alert names the services and tasks running it.
 */
export const imageFindingsMitigated = defineRule<ImageView>({
  id: 'image-findings-mitigated',
  settings: declared,
  title: 'Image vulnerability without a mitigation',
  severity: Severity.High,
  // Risk management: known vulnerabilities reduced to a reasonable level, and the decision documented.
  hipaa: ['164.308(a)(1)(ii)(B)'],
  runbook: 'docs/runbooks/image-findings-mitigated.md',
  readme: {
    enforce:
      'nothing: notify only, naming the services and running tasks that use the image; the incident stays open until a person records a mitigation (`incidents resolve <id> --mitigation "…"`), a later scan is clean, or the image is deleted and no ECS task of its region runs it (that end pages, naming what was not read)',
  },
  defaultMode: Mode.Notify,
  resourceType: ECR_IMAGE,
  endsWithMitigation: true,
  // A deleted image is re-judged at once: its incident ends unless a task still runs it.
  rejudgesHeldDrift: true,
  triggers: {
    cloudTrail: { eventNames: ['BatchDeleteImage'] },
    serviceEvents: [
      { source: 'aws.ecr', detailTypes: ['ECR Image Scan'] },
      { source: 'aws.inspector2', detailTypes: ['Inspector2 Finding', 'Inspector2 Scan'] },
      {
        source: 'aws.ecr',
        detailTypes: ['ECR Image Action'],
        detail: { 'action-type': ['DELETE'], result: ['SUCCESS'] },
      },
    ],
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadImagesAndFindings',
      actions: ['ecr:DescribeRepositories', 'ecr:DescribeImages', 'ecr:DescribeImageScanFindings'],
      resources: [`arn:${Stack.partition}:ecr:*:${Stack.accountId}:repository/*`],
      why: 'The sweep lists every repository of a region and its images.',
    },
    {
      sid: 'ReadInspectorFindingsThroughEcr',
      actions: ['inspector2:ListFindings'],
      checkedOn: 'ecr:DescribeImageScanFindings',
      why: "DescribeImageScanFindings returns enhanced scanning's findings from Amazon Inspector, which needs inspector2:ListFindings (Amazon ECR User Guide, 'IAM permissions required for enhanced scanning'); Inspector's ListFindings takes no resource ARN or condition key.",
    },
    {
      sid: 'ListWhatRunsThem',
      actions: ['ecs:ListClusters', 'ecs:ListTasks'],
      why: 'Listings of every cluster of a region: ECS allows them on no narrower resource.',
    },
    {
      sid: 'DescribeWhatRunsThem',
      actions: ['ecs:DescribeTasks'],
      resources: [`arn:${Stack.partition}:ecs:*:${Stack.accountId}:task/*`],
    },
  ],

  /**
   * The image's findings as ECR gives them now (basic, or Inspector's through ECR), and who runs it.
   * A deleted image is read as deleted, with who still runs it (its findings cannot be read any
   * more). Undefined when nothing can be judged: no completed scan yet.
   */
  async load(ref, aws, settings) {
    const parsed = ref.resourceType === ECR_IMAGE ? parseImageId(ref.resourceId) : undefined;
    if (!parsed || !inScope(settings)(parsed.repositoryName)) return undefined;
    const { repositoryName, digest } = parsed;
    const ecr = aws.ecr(ref.region);
    const users = (await digestsInUse(aws.ecs(ref.region))).get(digest) ?? NOBODY;
    const image = await describeImage(ecr, repositoryName, digest);
    if (!image) return toLoaded({ repositoryName, digest, exists: false, scan: undefined, users }, ref);
    const scan = await readScan(ecr, repositoryName, digest, mine(settings).severity);
    if (!hasJudgedScan(scan?.status)) return undefined;
    return toLoaded({ repositoryName, digest, exists: true, scan, users }, ref);
  },

  /** Every scanned image of the repositories in scope; findings are read only where the summary counts some at or above the threshold. */
  async *list(scope, aws, settings) {
    const ecr = aws.ecr(scope.region);
    const threshold = mine(settings).severity;
    const running = await digestsInUse(aws.ecs(scope.region));
    for await (const image of listImages(ecr, inScope(settings), threshold)) {
      if (!hasJudgedScan(image.scanStatus)) continue;
      const scan: ScanView | undefined = image.needsFindings
        ? await readScan(ecr, image.repositoryName, image.digest, threshold)
        : { status: image.scanStatus ?? '', completedAt: undefined, counts: image.counts, findings: [] };
      if (!hasJudgedScan(scan?.status)) continue;
      yield toLoaded(
        {
          repositoryName: image.repositoryName,
          digest: image.digest,
          exists: true,
          scan,
          users: running.get(image.digest) ?? NOBODY,
        },
        scope,
      );
    }
  },

  detect(resource, settings): Verdict {
    const view = resource.state;
    const threshold: FindingSeverity = mine(settings).severity;
    const findings = findingsOf(view).filter(
      (finding) => severityRank(finding.severity) >= severityRank(threshold),
    );
    if (!view.exists) {
      // Deleted and run by no ECS task of its region: nothing left to mitigate, as far as that read
      // goes. The incident it ends says what was not read, and pages (shared/pipeline/recover.ts).
      if (view.users.tasks.length === 0)
        return {
          compliant: true,
          endsIncident: clip(
            `Image ${resource.resourceId} deleted from ${view.repositoryName}; no ECS task in ${resource.region} runs it (EKS, Lambda, other regions and hosts not read)`,
            REASON_TEXT_LIMIT,
          ),
        };
      // Still running: an incident already open says so; its findings cannot be read to open one.
      return {
        compliant: false,
        updatesOnly: true,
        reason: clip(
          `Image ${resource.resourceId} in ${resource.region} was deleted from the registry but still ${exposure(view.users)}; its findings can no longer be read, the incident stays open until no task runs it`,
          REASON_TEXT_LIMIT,
        ),
        evidence: {
          imageDeleted: true,
          services: clip(view.users.services.join(',')),
          runningTasks: view.users.tasks.length,
          tasks: clip(view.users.tasks.join(',')),
        },
        plan: `Nothing automatic: a person redeploys ${view.users.services.length} service(s) with a fixed image or records a mitigation; nothing is stopped or deleted`,
      };
    }
    // Scanned clean: nothing left to mitigate.
    if (findings.length === 0) return { compliant: true };
    const ids = [...new Set(findings.map((finding) => finding.id))].sort();
    const packages = [...new Set(findings.flatMap((finding) => finding.packages))].sort();
    // Inspector's own findings (enhanced scanning): Security Hub links to them (RelatedFindings).
    const inspectorIds = wholeIds(
      [...new Set(findings.flatMap((finding) => finding.inspectorFindingId ?? []))].sort(),
    );
    return {
      compliant: false,
      reason: clip(
        `Image ${resource.resourceId} in ${resource.region} has ${findings.length} finding(s) at or above ${threshold} (${list(ids)}) and no documented mitigation; ${exposure(view.users)}`,
        REASON_TEXT_LIMIT,
      ),
      evidence: {
        repositoryName: clip(view.repositoryName),
        imageDigest: view.digest,
        // No image tags: they are the pusher's labels, and the digest names what runs.
        threshold,
        scanStatus: view.scan?.status ?? null,
        scanCompletedAt: view.scan?.completedAt ?? null,
        findings: findings.length,
        critical: countBy(findings, 'CRITICAL'),
        high: countBy(findings, 'HIGH'),
        findingIds: clip(ids.join(',')),
        packages: clip(packages.join(',')),
        services: clip(view.users.services.join(',')),
        runningTasks: view.users.tasks.length,
        tasks: clip(view.users.tasks.join(',')),
        ...(inspectorIds !== '' && { [INSPECTOR_FINDING_IDS]: inspectorIds }),
      },
      findings: highestById(findings),
      plan: `Nothing automatic: a person fixes the image (rebuild, redeploy ${view.users.services.length} service(s)) or records a mitigation with incidents resolve <incident-id> --mitigation "…"; nothing is stopped or deleted`,
    };
  },

  async remediate(resource) {
    throw new RemediationDeclined(
      `image-findings-mitigated never stops, deletes or rebuilds anything: ${resource.resourceId} and what runs it were not changed; a person records the mitigation`,
    );
  },
});
