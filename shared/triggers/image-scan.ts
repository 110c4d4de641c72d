import { TriggerSource } from '../model';
import { ECR_IMAGE, imageId, isImageDigest, isRepositoryName } from '../resources/ecr-image';
import * as z from '../zod';
import { eventBridgeEnvelope } from './eventbridge';
import { boundedSummary, invalid, parseWith, truncate } from './parse';
import type { TriggerEvent } from './types';

/**
 * The scan events of an ECR image: "ECR Image Scan" (basic scanning: severity counts), "Inspector2
 * Scan" (enhanced scanning: the same keys, the repository as an ARN, counts with a TOTAL) and
 * "Inspector2 Finding" (enhanced scanning: one finding, ACTIVE or CLOSED); and "ECR Image Action",
 * of which only a successful DELETE is observed (the image may be gone). Each names one image by
 * digest; the rule reads the image's findings afresh, so an event only says which image to read.
 * A finding's description and references are never copied: its id, severity, status and package
 * names are; nor is an image tag (the pusher's label).
 */

export const ImageScanDetailType = {
  EcrScan: 'ECR Image Scan',
  InspectorScan: 'Inspector2 Scan',
  InspectorFinding: 'Inspector2 Finding',
  /** A push or a deletion: a successful DELETE is observed (the image may be gone), the rest ignored. */
  EcrAction: 'ECR Image Action',
} as const;

const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED', 'UNTRIAGED', 'TOTAL'];

const digest = z.string().check(z.refine(isImageDigest, 'expected an image digest (<algorithm>:<hex>)'));
const repositoryName = z.string().check(z.refine(isRepositoryName, 'expected an ECR repository name'));
/** Inspector2 Scan names the repository by its ARN: `arn:aws:ecr:<region>:<account>:repository/<name>`. */
const repositoryNameOrArn = z.pipe(
  z.pipe(
    z.string().check(z.maxLength(512)),
    z.transform((text) => text.replace(/^arn:aws[a-z-]*:ecr:[a-z0-9-]*:\d*:repository\//, '')),
  ),
  repositoryName,
);

const scanDetail = z.object({
  'scan-status': z.string().check(z.maxLength(64)),
  'repository-name': repositoryNameOrArn,
  'image-digest': digest,
  'finding-severity-counts': z.optional(
    z.record(z.string().check(z.maxLength(32)), z.number().check(z.int(), z.minimum(0))),
  ),
});

/** "ECR Image Action": its `image-tag` (the pusher's label) is never read. */
const actionDetail = z.object({
  result: z.string().check(z.maxLength(64)),
  'repository-name': repositoryName,
  'image-digest': digest,
  'action-type': z.string().check(z.maxLength(64)),
});

const ecrImage = z.object({ repositoryName, imageHash: digest });
const findingDetail = z.object({
  findingArn: z.optional(z.string().check(z.maxLength(2048))),
  severity: z.string().check(z.maxLength(32)),
  status: z.string().check(z.maxLength(32)),
  packageVulnerabilityDetails: z.optional(
    z.object({
      vulnerabilityId: z.optional(z.string().check(z.maxLength(256))),
      vulnerablePackages: z.optional(
        z.array(z.object({ name: z.optional(z.string().check(z.maxLength(256))) })).check(z.maxLength(1000)),
      ),
    }),
  ),
  resources: z
    .array(
      z.object({
        type: z.string().check(z.maxLength(64)),
        details: z.optional(z.object({ awsEcrContainerImage: z.optional(z.unknown()) })),
      }),
    )
    .check(z.minLength(1), z.maxLength(10)),
});

const imageScanEvent = z.extend(eventBridgeEnvelope(z.unknown()), {
  'detail-type': z.enum(ImageScanDetailType),
  source: z.enum(['aws.ecr', 'aws.inspector2']),
});

const CONTAINER_IMAGE = 'AWS_ECR_CONTAINER_IMAGE';

/** One image observed: the scan's or the finding's, with bounded facts. */
export const parseImageScanEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(imageScanEvent, event);
  const fromEcr =
    envelope['detail-type'] === ImageScanDetailType.EcrScan ||
    envelope['detail-type'] === ImageScanDetailType.EcrAction;
  const wantedSource = fromEcr ? 'aws.ecr' : 'aws.inspector2';
  if (envelope.source !== wantedSource)
    throw invalid('source', `expected ${JSON.stringify(wantedSource)} for ${envelope['detail-type']}`);
  const observe = (repository: string, imageDigest: string, facts: Parameters<typeof boundedSummary>[0]) => ({
    kind: 'resources' as const,
    observations: [
      {
        source: TriggerSource.ImageScan,
        eventId: envelope.id,
        eventName: envelope['detail-type'],
        accountId: envelope.account,
        region: envelope.region,
        resourceType: ECR_IMAGE,
        resourceId: imageId(repository, imageDigest),
        observedAt: envelope.time,
        summary: boundedSummary(facts),
      },
    ],
  });
  if (envelope['detail-type'] === ImageScanDetailType.EcrAction) {
    const detail = parseWith(actionDetail, envelope.detail, 'detail');
    const facts = { actionType: detail['action-type'], result: detail.result };
    if (detail['action-type'] !== 'DELETE' || detail.result !== 'SUCCESS')
      return {
        kind: 'resources',
        observations: [],
        ignored: `an image ${truncate(detail['action-type'], 16)} (${truncate(detail.result, 16)}): only a deletion can end an incident`,
      };
    return observe(detail['repository-name'], detail['image-digest'], facts);
  }
  if (envelope['detail-type'] !== ImageScanDetailType.InspectorFinding) {
    const detail = parseWith(scanDetail, envelope.detail, 'detail');
    const counts = detail['finding-severity-counts'] ?? {};
    return observe(detail['repository-name'], detail['image-digest'], {
      scanStatus: detail['scan-status'],
      ...Object.fromEntries(SEVERITIES.filter((key) => key in counts).map((key) => [key, counts[key]])),
    });
  }
  const detail = parseWith(findingDetail, envelope.detail, 'detail');
  const index = detail.resources.findIndex((resource) => resource.type === CONTAINER_IMAGE);
  const resource = detail.resources[index];
  if (!resource)
    return {
      kind: 'resources',
      observations: [],
      ignored: `an Inspector finding about ${detail.resources[0]?.type}, not a container image`,
    };
  const image = parseWith(
    ecrImage,
    resource.details?.awsEcrContainerImage,
    `detail.resources[${index}].details.awsEcrContainerImage`,
  );
  const vulnerability = detail.packageVulnerabilityDetails;
  return observe(image.repositoryName, image.imageHash, {
    finding: vulnerability?.vulnerabilityId ?? detail.findingArn?.split('/').pop(),
    severity: detail.severity,
    status: detail.status,
    packages: vulnerability?.vulnerablePackages
      ?.map((item) => item.name)
      .filter(Boolean)
      .join(','),
  });
};
