import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { imageScanEvent } from '../../../scripts/lib/events';
import { seedScannedImage } from '../../support/ecr-images';
import { SENTINEL } from '../bounds';
import { ACCOUNT, notifyOnly, REGION, type Scenario } from '../scenario';

/**
 * An image with a critical basic finding: it pages once, changes nothing, and stays drift. Its tag
 * is the pusher's label and carries the sentinel: it must never reach an incident, alert or log.
 */
export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const digest = await seedScannedImage({
      region: REGION,
      repositoryName: 'claims/api',
      layer: `sha256:${'1'.repeat(64)}`,
      imageTag: `${SENTINEL}-mrn-0042`,
      findings: [
        {
          name: 'CVE-2025-0001',
          severity: 'CRITICAL',
          attributes: [{ key: 'package_name', value: 'openssl' }],
        },
      ],
    });
    return notifyOnly(
      imageScanEvent({
        accountId: ACCOUNT,
        region: REGION,
        repositoryName: 'claims/api',
        digest,
        counts: { CRITICAL: 1 },
      }),
      // Only the image's deletion could clear it: the rule deletes nothing, so it stays drift.
      async () => {
        const { imageDetails } = await new ECRClient({ region: REGION }).send(
          new DescribeImagesCommand({ repositoryName: 'claims/api', imageIds: [{ imageDigest: digest }] }),
        );
        return (imageDetails ?? []).length === 0;
      },
    );
  },
};
