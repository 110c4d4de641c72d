import { parseWith } from '../triggers/parse';
import * as z from '../zod';
import type { ResourceType } from './resource-type';

export const ECR_IMAGE = 'AWS::ECR::Image';

/** A repository name as ECR allows it (namespaces with '/'). */
const REPOSITORY = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;
/**
 * An image digest in the OCI grammar (`<algorithm>:<encoded>`): AWS sends `sha256:<64 hex>`, its
 * documentation examples shorter or `…EXAMPLE` ones, which are accepted as sent.
 */
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{16,128}$/;

export const isRepositoryName = (name: string): boolean => name.length <= 256 && REPOSITORY.test(name);
export const isImageDigest = (digest: string): boolean => DIGEST.test(digest);

/** The rule's resource id of an image: `<repository>@<digest>`, as `docker pull` names it. */
export const imageId = (repositoryName: string, digest: string): string => `${repositoryName}@${digest}`;

/** `<repository>@<digest>` → its parts, or undefined when it is not one. */
export function parseImageId(id: string): { repositoryName: string; digest: string } | undefined {
  const at = id.lastIndexOf('@');
  const repositoryName = id.slice(0, at);
  const digest = id.slice(at + 1);
  return at > 0 && isRepositoryName(repositoryName) && isImageDigest(digest)
    ? { repositoryName, digest }
    : undefined;
}

/** The ARN Amazon Inspector gives an image (ECR has none of its own): the repository's, then the digest. */
export const imageArn = (region: string, accountId: string, repositoryName: string, digest: string): string =>
  `arn:aws:ecr:${region}:${accountId}:repository/${repositoryName}/${digest}`;

/**
 * BatchDeleteImage names the images it deleted in its response, by digest (a request may name them by
 * tag): those, never the ones in `failures`. Tags are the pusher's words: none is read.
 */
const deletedImages = z.pipe(
  z.object({
    requestParameters: z.object({
      repositoryName: z.string().check(z.maxLength(256), z.refine(isRepositoryName)),
    }),
    responseElements: z.object({
      imageIds: z
        .array(z.object({ imageDigest: z.string().check(z.maxLength(256), z.refine(isImageDigest)) }))
        .check(z.maxLength(1000)),
    }),
  }),
  z.transform(({ requestParameters, responseElements }) => [
    ...new Set(
      responseElements.imageIds.map(({ imageDigest }) =>
        imageId(requestParameters.repositoryName, imageDigest),
      ),
    ),
  ]),
);

/**
 * One image of a private ECR repository, named by its digest (what a task runs, whatever tag moves):
 * scan findings are about it. No CloudTrail call changes an image's findings: ECR and Inspector
 * report them as service events (shared/triggers/image-scan.ts). Its deletion (BatchDeleteImage, the
 * only call that deletes images; ECR has no DeleteImage) is judged at once: it may end the incident.
 */
export const ecrImage: ResourceType = {
  type: ECR_IMAGE,
  arn: {
    service: 'ecr',
    resource: /^repository\/[a-z0-9][a-z0-9._/-]{0,255}\/sha256:[a-f0-9]{64}$/,
    plural: 'ECR images (by digest)',
  },
  calls: {
    BatchDeleteImage: {
      eventSource: 'ecr.amazonaws.com',
      resourceIds: (record, prefix) => parseWith(deletedImages, record, prefix),
    },
  },
};
