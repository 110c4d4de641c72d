import { parseTriggerEvent } from '../../../shared/triggers';
import { catchValidationError, loadEvent, objectAt } from './support';

const DIGEST = 'sha256:4c1f7e8a9b0d2c3e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0d';
const IMAGE = { resourceType: 'AWS::ECR::Image', resourceId: `claims/api@${DIGEST}` };

describe('image scan events (ECR Image Scan, Inspector2 Scan, Inspector2 Finding)', () => {
  it('observes the scanned image of a basic scan, with its severity counts only', () => {
    // Act
    const result = parseTriggerEvent(loadEvent('ecr-image-scan-critical.json'));

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [
        {
          source: 'image-scan',
          eventId: '2b7c1d4e-5f60-4a71-8b92-a3b4c5d6e7f8',
          eventName: 'ECR Image Scan',
          accountId: '111122223333',
          region: 'us-east-1',
          ...IMAGE,
          observedAt: '2025-03-05T08:12:40Z',
          summary: { scanStatus: 'COMPLETE', CRITICAL: 2, HIGH: 1, LOW: 4 },
        },
      ],
    });
  });

  it('reads the repository of an enhanced scan from the ARN Inspector puts in repository-name', () => {
    // Act
    const result = parseTriggerEvent(loadEvent('inspector2-scan-complete.json'));

    // Assess
    expect(result).toMatchObject({
      kind: 'resources',
      observations: [{ ...IMAGE, eventName: 'Inspector2 Scan', summary: { CRITICAL: 1, TOTAL: 4 } }],
    });
  });

  it('observes the image of one Inspector finding, keeping its id, severity and package names, not its text', () => {
    // Act
    const result = parseTriggerEvent(loadEvent('inspector2-finding-critical.json'));

    // Assess
    expect(result).toMatchObject({
      kind: 'resources',
      observations: [
        {
          ...IMAGE,
          source: 'image-scan',
          eventName: 'Inspector2 Finding',
          summary: {
            finding: 'CVE-2025-00001',
            severity: 'CRITICAL',
            status: 'ACTIVE',
            packages: 'libexampletls',
          },
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('heap overflow');
  });

  it('ignores an Inspector finding about something else than a container image', () => {
    // Prepare
    const event = loadEvent('inspector2-finding-critical.json');
    const [resource] = objectAt(event, 'detail').resources as Record<string, unknown>[];
    Object.assign(resource ?? {}, { type: 'AWS_EC2_INSTANCE', details: { awsEc2Instance: {} } });

    // Act
    const result = parseTriggerEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [],
      ignored: 'an Inspector finding about AWS_EC2_INSTANCE, not a container image',
    });
  });

  it.each([
    ['a digest that is not one', 'image-digest', 'latest', 'detail.image-digest'],
    ['a repository that is not one', 'repository-name', '../etc', 'detail.repository-name'],
  ])('refuses %s, naming the field', (_, key, value, field) => {
    // Prepare
    const event = loadEvent('ecr-image-scan-critical.json');
    objectAt(event, 'detail')[key] = value;

    // Act
    const error = catchValidationError(() => parseTriggerEvent(event));

    // Assess
    expect(error.field).toBe(field);
  });

  it('refuses a scan event from another source', () => {
    // Prepare
    const event = { ...loadEvent('ecr-image-scan-critical.json'), source: 'custom.ecr' };

    // Act / Assess
    expect(catchValidationError(() => parseTriggerEvent(event)).field).toBe('source');
  });

  it('observes the image an "ECR Image Action" deletion names, without its tag', () => {
    // Prepare
    const event = {
      version: '0',
      id: 'dd3b46cb-2c74-f49e-393b-28286b67279d',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '111122223333',
      time: '2025-03-06T09:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': 'claims/api',
        'image-digest': DIGEST,
        'action-type': 'DELETE',
        'image-tag': 'rel-secret-label',
      },
    };

    // Act
    const result = parseTriggerEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [
        {
          source: 'image-scan',
          eventId: 'dd3b46cb-2c74-f49e-393b-28286b67279d',
          eventName: 'ECR Image Action',
          accountId: '111122223333',
          region: 'us-east-1',
          ...IMAGE,
          observedAt: '2025-03-06T09:00:00Z',
          summary: { actionType: 'DELETE', result: 'SUCCESS' },
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('rel-secret-label');
  });

  it.each([
    ['a push', 'PUSH', 'SUCCESS'],
    ['a failed deletion', 'DELETE', 'FAILURE'],
  ])('ignores %s ("ECR Image Action")', (_, action, outcome) => {
    // Prepare
    const event = {
      version: '0',
      id: 'e1',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '111122223333',
      time: '2025-03-06T09:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        result: outcome,
        'repository-name': 'claims/api',
        'image-digest': DIGEST,
        'action-type': action,
      },
    };

    // Act
    const result = parseTriggerEvent(event);

    // Assess
    expect(result).toMatchObject({ kind: 'resources', observations: [], ignored: expect.any(String) });
  });
});
