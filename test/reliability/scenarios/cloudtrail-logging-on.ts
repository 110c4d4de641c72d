import { AddTagsCommand, GetTrailCommand } from '@aws-sdk/client-cloudtrail';
import { cloudtrail, createAuditTrail, isLogging, stopLogging, trailCall } from '../../support/cloudtrail';
import { sentinelTags } from '../bounds';
import { REGION, type Scenario, sweep } from '../scenario';

export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const arn = await createAuditTrail();
    await cloudtrail(REGION).send(new AddTagsCommand({ ResourceId: arn, TagsList: sentinelTags }));
    await stopLogging();
    return {
      event: trailCall('StopLogging', 'audit'),
      sweep: sweep(),
      compliant: async () => (await isLogging()) === true,
      kept: async () =>
        (await cloudtrail(REGION).send(new GetTrailCommand({ Name: 'audit' }))).Trail?.TrailARN === arn,
    };
  },
};
