import {
  DescribeImagesCommand,
  type ECRClient,
  type ImageDetail,
  paginateDescribeImageScanFindings,
  paginateDescribeImages,
  paginateDescribeRepositories,
} from '@aws-sdk/client-ecr';
import { isAwsError } from '../aws/aws-errors';

/** ECR's severities, lowest first (UNDEFINED and Inspector's UNTRIAGED rank below every threshold). */
export const SEVERITY_ORDER = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type FindingSeverity = (typeof SEVERITY_ORDER)[number];

export const severityRank = (severity: string | undefined): number =>
  SEVERITY_ORDER.indexOf((severity ?? '') as FindingSeverity);

/** A finding as the rule keeps it: its id (CVE or Inspector finding), severity and package names. */
export interface FindingView {
  readonly id: string;
  readonly severity: string;
  readonly packages: readonly string[];
  /** Enhanced scanning: Inspector's own finding (the last part of its ARN), which Security Hub links to. */
  readonly inspectorFindingId?: string;
}

/** An image's last completed scan: where its findings are read only for images that need them. */
export interface ScanView {
  readonly status: string;
  readonly completedAt: string | undefined;
  readonly counts: Readonly<Record<string, number>>;
  /** The active findings at or above the threshold asked for (ids, severity, packages): no text. */
  readonly findings: readonly FindingView[];
}

/** Scan statuses whose findings describe the image as it is (basic: COMPLETE; enhanced: ACTIVE). */
const JUDGED_STATUSES = new Set(['COMPLETE', 'ACTIVE']);

export const hasJudgedScan = (status: string | undefined): boolean =>
  status !== undefined && JUDGED_STATUSES.has(status);

const atOrAbove = (counts: Readonly<Record<string, number>>, threshold: FindingSeverity): boolean =>
  Object.entries(counts).some(
    ([severity, count]) => count > 0 && severityRank(severity) >= severityRank(threshold),
  );

/** ECR's answers for an image or repository that is not there. */
const GONE = ['ImageNotFoundException', 'RepositoryNotFoundException'];
const isGone = (error: unknown) => GONE.some((name) => isAwsError(error, name));

/** The image as ECR lists it; undefined when the image (or its repository) is gone. */
export async function describeImage(
  ecr: ECRClient,
  repositoryName: string,
  digest: string,
): Promise<ImageDetail | undefined> {
  try {
    const { imageDetails } = await ecr.send(
      new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }),
    );
    return imageDetails?.[0];
  } catch (error) {
    if (isGone(error)) return undefined;
    throw error;
  }
}

/**
 * The image's last scan, with its active findings at or above `threshold` (basic findings carry the
 * package in their attributes, enhanced ones in packageVulnerabilityDetails). Undefined when no scan
 * of the image is known (ScanNotFoundException) or the image is gone. Every page is read: a failed
 * or throttled page throws, never "no findings".
 */
export async function readScan(
  ecr: ECRClient,
  repositoryName: string,
  digest: string,
  threshold: FindingSeverity,
): Promise<ScanView | undefined> {
  const findings: FindingView[] = [];
  let status: string | undefined;
  let completedAt: string | undefined;
  let counts: Record<string, number> = {};
  const pages = paginateDescribeImageScanFindings(
    { client: ecr },
    { repositoryName, imageId: { imageDigest: digest } },
  );
  try {
    for await (const page of pages) {
      status = page.imageScanStatus?.status ?? status;
      const scan = page.imageScanFindings;
      completedAt = scan?.imageScanCompletedAt?.toISOString() ?? completedAt;
      counts = { ...counts, ...(scan?.findingSeverityCounts ?? {}) };
      for (const finding of scan?.findings ?? []) {
        if (severityRank(finding.severity) < severityRank(threshold)) continue;
        const name = finding.attributes?.find((attribute) => attribute.key === 'package_name')?.value;
        findings.push({
          id: finding.name ?? '?',
          severity: finding.severity ?? '?',
          packages: name ? [name] : [],
        });
      }
      for (const finding of scan?.enhancedFindings ?? []) {
        if (finding.status && finding.status !== 'ACTIVE') continue;
        if (severityRank(finding.severity) < severityRank(threshold)) continue;
        const details = finding.packageVulnerabilityDetails;
        const inspectorFindingId = finding.findingArn?.split('/').pop();
        findings.push({
          id: details?.vulnerabilityId ?? inspectorFindingId ?? '?',
          severity: finding.severity ?? '?',
          packages: (details?.vulnerablePackages ?? []).flatMap((item) => (item.name ? [item.name] : [])),
          ...(inspectorFindingId && { inspectorFindingId }),
        });
      }
    }
  } catch (error) {
    if (isGone(error) || isAwsError(error, 'ScanNotFoundException')) return undefined;
    throw error;
  }
  if (status === undefined) return undefined;
  return { status, completedAt, counts, findings };
}

/** An image of a listing: its repository, digest and the scan summary DescribeImages gives (never its tags). */
export interface ListedImage {
  readonly repositoryName: string;
  readonly digest: string;
  readonly scanStatus: string | undefined;
  readonly counts: Readonly<Record<string, number>>;
  /** Its summary counts a finding at or above the threshold: its findings are worth reading. */
  readonly needsFindings: boolean;
}

/** Every image of every repository of the region whose name `inScope` accepts. */
export async function* listImages(
  ecr: ECRClient,
  inScope: (repositoryName: string) => boolean,
  threshold: FindingSeverity,
): AsyncIterable<ListedImage> {
  for await (const page of paginateDescribeRepositories({ client: ecr }, {})) {
    for (const repository of page.repositories ?? []) {
      const repositoryName = repository.repositoryName;
      if (!repositoryName || !inScope(repositoryName)) continue;
      for await (const images of paginateDescribeImages({ client: ecr }, { repositoryName })) {
        for (const image of images.imageDetails ?? []) {
          if (!image.imageDigest) continue;
          const counts = image.imageScanFindingsSummary?.findingSeverityCounts ?? {};
          yield {
            repositoryName,
            digest: image.imageDigest,
            scanStatus: image.imageScanStatus?.status,
            counts,
            needsFindings: atOrAbove(counts, threshold),
          };
        }
      }
    }
  }
}
