import { parseConfigItemChangeEvent } from '../../../shared/triggers/config-item-change';
import { catchValidationError, loadEvent, objectAt } from './support';

const ITEM_CHANGE = 'config-item-change-volume.json';

describe('parseConfigItemChangeEvent', () => {
  it('observes the changed item', () => {
    // Prepare
    const event = loadEvent(ITEM_CHANGE);

    // Act
    const result = parseConfigItemChangeEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [
        {
          source: 'config-compliance',
          eventId: '7d8e9f0a-1b2c-4d3e-a4f5-a6b7c8d9e0f1',
          eventName: 'Config Configuration Item Change',
          accountId: '111122223333',
          region: 'us-east-1',
          resourceType: 'AWS::EC2::Volume',
          resourceId: 'vol-0a1b2c3d4e5f60718',
          observedAt: '2025-03-04T10:07:15Z',
          summary: {
            messageType: 'ConfigurationItemChangeNotification',
            configurationItemStatus: 'ResourceDiscovered',
            changeType: 'CREATE',
            arn: 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0a1b2c3d4e5f60718',
          },
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain('cardiology-2025');
  });

  it('marks a deleted item (configuration null) not applicable', () => {
    // Prepare
    const event = loadEvent(ITEM_CHANGE);
    Object.assign(objectAt(event, 'detail', 'configurationItem'), {
      configuration: null,
      configurationItemStatus: 'ResourceDeleted',
    });

    // Act
    const result = parseConfigItemChangeEvent(event);

    // Assess
    expect(result.kind === 'resources' && result.observations[0]?.notApplicable).toBe(true);
  });

  it('observes an oversized item from its summary', () => {
    // Prepare
    const event = loadEvent(ITEM_CHANGE);
    const detail = objectAt(event, 'detail');
    const { configuration: _configuration, tags: _tags, ...identity } = objectAt(detail, 'configurationItem');
    event.detail = {
      messageType: 'OversizedConfigurationItemChangeNotification',
      configurationItemSummary: { ...identity, changeType: 'UPDATE' },
      s3DeliverySummary: { s3BucketLocation: 'config-bucket/item.json.gz' },
    };

    // Act
    const result = parseConfigItemChangeEvent(event);

    // Assess
    expect(result).toMatchObject({
      observations: [
        {
          resourceId: 'vol-0a1b2c3d4e5f60718',
          summary: { messageType: 'OversizedConfigurationItemChangeNotification', changeType: 'UPDATE' },
        },
      ],
    });
  });

  it('refuses an unknown message type, naming detail.messageType', () => {
    // Prepare
    const event = loadEvent(ITEM_CHANGE);
    objectAt(event, 'detail').messageType = 'ConfigurationHistoryDeliveryCompleted';

    // Act
    const error = catchValidationError(() => parseConfigItemChangeEvent(event));

    // Assess
    expect(error.field).toBe('detail.messageType');
  });

  it('refuses an item with a resource type of the wrong type', () => {
    // Prepare
    const event = loadEvent(ITEM_CHANGE);
    objectAt(event, 'detail', 'configurationItem').resourceType = ['AWS::EC2::Volume'];

    // Act
    const error = catchValidationError(() => parseConfigItemChangeEvent(event));

    // Assess
    expect(error.field).toBe('detail.configurationItem.resourceType');
    expect(error.message).toContain('expected string, received array');
  });
});
