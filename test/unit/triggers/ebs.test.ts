import { parseEbsNotificationEvent } from '../../../shared/triggers/ebs';
import { catchValidationError, loadEvent, objectAt } from './support';

describe('parseEbsNotificationEvent', () => {
  it('observes the snapshot named by an odd-form snapshot ARN', () => {
    // Prepare
    const event = loadEvent('ebs-snapshot-notification.json');

    // Act
    const result = parseEbsNotificationEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [
        {
          source: 'ebs-notification',
          eventId: '8e9f0a1b-2c3d-4e4f-b5a6-b7c8d9e0f1a2',
          eventName: 'EBS Snapshot Notification',
          accountId: '111122223333',
          region: 'us-east-1',
          resourceType: 'AWS::EC2::Snapshot',
          resourceId: 'snap-0123456789abcdef0',
          observedAt: '2025-03-04T10:31:02Z',
          summary: { event: 'createSnapshot', result: 'succeeded', cause: '' },
        },
      ],
    });
  });

  it('accepts placeholder times, as in the AWS documentation examples', () => {
    // Prepare
    const event = { ...loadEvent('ebs-snapshot-notification.json'), time: 'yyyy-mm-ddThh:mm:ssZ' };
    Object.assign(objectAt(event, 'detail'), {
      startTime: 'yyyy-mm-ddThh:mm:ssZ',
      endTime: 'yyyy-mm-ddThh:mm:ssZ',
    });

    // Act
    const result = parseEbsNotificationEvent(event);

    // Assess
    expect(result.kind === 'resources' && result.observations[0]?.observedAt).toBe('yyyy-mm-ddThh:mm:ssZ');
  });

  it('accepts a bare snapshot id', () => {
    // Prepare
    const event = loadEvent('ebs-snapshot-notification.json');
    objectAt(event, 'detail').snapshot_id = 'snap-0fedcba9876543210';

    // Act
    const result = parseEbsNotificationEvent(event);

    // Assess
    expect(result.kind === 'resources' && result.observations[0]?.resourceId).toBe('snap-0fedcba9876543210');
  });

  it('keeps the failure cause in the summary, cut to 256 characters', () => {
    // Prepare
    const event = loadEvent('ebs-snapshot-notification.json');
    Object.assign(objectAt(event, 'detail'), {
      result: 'failed',
      cause: `Internal error ${'.'.repeat(400)}`,
    });

    // Act
    const result = parseEbsNotificationEvent(event);

    // Assess
    const summary = result.kind === 'resources' ? result.observations[0]?.summary : undefined;
    expect(summary?.result).toBe('failed');
    expect(String(summary?.cause)).toHaveLength(256);
  });

  it('observes the volume named in the envelope resources', () => {
    // Prepare
    const event = loadEvent('ebs-volume-notification.json');

    // Act
    const result = parseEbsNotificationEvent(event);

    // Assess
    expect(result).toMatchObject({
      observations: [
        {
          eventName: 'EBS Volume Notification',
          resourceType: 'AWS::EC2::Volume',
          resourceId: 'vol-0b1c2d3e4f5a60719',
          summary: { event: 'createVolume', result: 'available' },
        },
      ],
    });
  });

  it('refuses a snapshot_id that names no snapshot', () => {
    // Prepare
    const event = loadEvent('ebs-snapshot-notification.json');
    objectAt(event, 'detail').snapshot_id = 'arn:aws:ec2::us-east-1:volume/vol-0a1b2c3d4e5f60718';

    // Act
    const error = catchValidationError(() => parseEbsNotificationEvent(event));

    // Assess
    expect(error.field).toBe('detail.snapshot_id');
  });

  it('refuses a volume notification without resources', () => {
    // Prepare
    const event = { ...loadEvent('ebs-volume-notification.json'), resources: [] };

    // Act
    const error = catchValidationError(() => parseEbsNotificationEvent(event));

    // Assess
    expect(error.field).toBe('resources[0]');
  });

  it('refuses a detail without a result', () => {
    // Prepare
    const event = loadEvent('ebs-volume-notification.json');
    delete objectAt(event, 'detail').result;

    // Act
    const error = catchValidationError(() => parseEbsNotificationEvent(event));

    // Assess
    expect(error.field).toBe('detail.result');
  });

  it('refuses a source other than aws.ec2', () => {
    // Prepare
    const event = { ...loadEvent('ebs-volume-notification.json'), source: 'aws.ebs' };

    // Act
    const error = catchValidationError(() => parseEbsNotificationEvent(event));

    // Assess
    expect(error.field).toBe('source');
  });
});
