import {
  CloudTrailClient,
  CreateTrailCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { cloudTrailEvent, humanCaller } from '../../scripts/lib/events';

/** Fixtures for cloudtrail-logging-on: trails (and their buckets) in moto, and the calls that stop them. */

const ACCOUNT = '123456789012';
export const cloudtrail = (region: string) => new CloudTrailClient({ region });

/** moto wants the trail's bucket to exist; S3 is not a dependency of the project, so a bare PUT makes it. */
export async function createBucket(name: string): Promise<void> {
  const response = await fetch(`${process.env.AWS_ENDPOINT_URL}/${name}`, {
    method: 'PUT',
    headers: {
      Authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0',
    },
  });
  if (!response.ok) throw new Error(`could not create bucket ${name}: HTTP ${response.status}`);
}

/** A trail that logs, validates its files and covers every region, as an audit trail should. */
export async function createAuditTrail(
  name = 'audit',
  region = 'us-east-1',
  options: { multiRegion?: boolean } = {},
) {
  await createBucket(`${name}-logs-${region}`);
  const trail = await cloudtrail(region).send(
    new CreateTrailCommand({
      Name: name,
      S3BucketName: `${name}-logs-${region}`,
      IsMultiRegionTrail: options.multiRegion ?? true,
      EnableLogFileValidation: true,
    }),
  );
  await cloudtrail(region).send(new StartLoggingCommand({ Name: name }));
  return String(trail.TrailARN);
}

export const isLogging = async (name = 'audit', region = 'us-east-1') =>
  (await cloudtrail(region).send(new GetTrailStatusCommand({ Name: name }))).IsLogging;
export const stopLogging = (name = 'audit', region = 'us-east-1') =>
  cloudtrail(region).send(new StopLoggingCommand({ Name: name }));

export const trailCall = (
  eventName: string,
  name: string,
  region = 'us-east-1',
  caller = humanCaller(ACCOUNT),
) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'cloudtrail.amazonaws.com',
    region,
    caller,
    requestParameters: { name },
  });
