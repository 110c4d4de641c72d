import {
  CreateRepositoryCommand,
  ECRClient,
  type ImageScanFinding,
  PutImageCommand,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';

/**
 * An image in moto's ECR with the basic scan findings moto is told to return for it: moto keeps one
 * configured result per image (`/moto-api/static/ecr/scan-finding-results`, read once, then fixed),
 * so a later clean scan of the same digest cannot be staged there (the unit tests mock it). moto
 * cannot seed Inspector (enhanced) findings at all.
 */
export async function seedScannedImage({
  region,
  repositoryName,
  layer,
  findings,
  imageTag = 'v1',
}: {
  region: string;
  repositoryName: string;
  /** The pusher's label (a value anyone who can push writes). */
  imageTag?: string;
  /** Makes the digest: moto derives it from the manifest's layer digests. */
  layer: string;
  findings: ImageScanFinding[];
}): Promise<string> {
  const ecr = new ECRClient({ region });
  await ecr.send(new CreateRepositoryCommand({ repositoryName })).catch((error: Error) => {
    if (error.name !== 'RepositoryAlreadyExistsException') throw error;
  });
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: 7023,
      digest: `sha256:${'c'.repeat(64)}`,
    },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 32654, digest: layer }],
  };
  const { image } = await ecr.send(
    new PutImageCommand({ repositoryName, imageManifest: JSON.stringify(manifest), imageTag }),
  );
  const digest = image?.imageId?.imageDigest ?? '';
  await ecr.send(new StartImageScanCommand({ repositoryName, imageId: { imageDigest: digest } }));
  const counts: Record<string, number> = {};
  for (const finding of findings)
    counts[finding.severity ?? 'UNDEFINED'] = (counts[finding.severity ?? 'UNDEFINED'] ?? 0) + 1;
  const response = await fetch(`${process.env.AWS_ENDPOINT_URL}/moto-api/static/ecr/scan-finding-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      region,
      results: [
        {
          registryId: '123456789012',
          repositoryName,
          imageId: { imageDigest: digest },
          imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
          imageScanFindings: { findings, findingSeverityCounts: counts },
        },
      ],
    }),
  });
  if (!response.ok) throw new Error(`moto refused the scan findings: ${response.status}`);
  return digest;
}
