import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseTriggerEvent } from '../../../shared/triggers';
import { catchValidationError, deepFreeze, loadEvent } from './support';

const FIXTURE_FILES = readdirSync(path.join(__dirname, '../../fixtures/events')).filter((file) =>
  file.endsWith('.json'),
);

describe('parseTriggerEvent', () => {
  it.each([
    ['config-rule-volume-change.json', 'resources', 'config-rule'],
    ['config-rule-scheduled-notification.json', 'sweep', 'config-rule'],
    ['cloudtrail-disable-ebs-encryption-by-default.json', 'resources', 'cloudtrail'],
    ['config-compliance-change-non-compliant.json', 'resources', 'config-compliance'],
    ['config-item-change-volume.json', 'resources', 'config-compliance'],
    ['ebs-snapshot-notification.json', 'resources', 'ebs-notification'],
    ['ebs-volume-notification.json', 'resources', 'ebs-notification'],
    ['scheduled-event.json', 'sweep', 'schedule'],
  ])('routes %s to the %s adapter for %s', (file, kind, source) => {
    // Prepare
    const event = loadEvent(file);

    // Act
    const result = parseTriggerEvent(event);

    // Assess
    expect(result.kind).toBe(kind);
    const sources =
      result.kind === 'sweep' ? [result.sweep.source] : result.observations.map((o) => o.source);
    expect(sources).toEqual([source]);
  });

  it.each(FIXTURE_FILES)('never mutates its input (%s, frozen)', (file) => {
    // Prepare
    const event = loadEvent(file);
    const before = structuredClone(event);

    // Act
    parseTriggerEvent(deepFreeze(event));

    // Assess
    expect(event).toEqual(before);
  });

  it('returns new objects: changing the result leaves the input as it was', () => {
    // Prepare
    const event = loadEvent('cloudtrail-create-volume.json');
    const before = structuredClone(event);

    // Act
    const result = parseTriggerEvent(event);
    if (result.kind === 'resources') {
      for (const observation of result.observations) {
        Object.assign(observation, { resourceId: 'changed' });
        Object.assign(observation.actor ?? {}, { arn: 'changed' });
      }
    }

    // Assess
    expect(event).toEqual(before);
  });

  it('refuses an EventBridge event with an unsupported detail-type', () => {
    // Prepare
    const event = {
      ...loadEvent('scheduled-event.json'),
      'detail-type': 'EC2 Instance State-change Notification',
    };

    // Act
    const error = catchValidationError(() => parseTriggerEvent(event));

    // Assess
    expect(error.field).toBe('detail-type');
    expect(error.message).toBe(
      'detail-type: unsupported detail-type "EC2 Instance State-change Notification"',
    );
  });

  it('reports a malformed envelope by its account before looking at the detail-type', () => {
    // Prepare
    const event = { ...loadEvent('scheduled-event.json'), 'detail-type': '...', account: 12345 };

    // Act
    const error = catchValidationError(() => parseTriggerEvent(event));

    // Assess
    expect(error.field).toBe('account');
  });

  it.each([
    ['null', null],
    ['a string', 'Scheduled Event'],
    ['an array', [loadEvent('scheduled-event.json')]],
    ['an object of no known shape', { Records: [] }],
    ['an invocation without a resultToken', { invokingEvent: '{}' }],
  ])('refuses %s', (_case, event) => {
    // Act
    const error = catchValidationError(() => parseTriggerEvent(event));

    // Assess
    expect(error.field).toBe('(root)');
  });

  it('passes a Config rule invocation to the Config rule adapter, whose errors name the field', () => {
    // Prepare
    const event = { ...loadEvent('config-rule-volume-change.json'), invokingEvent: 'not json' };

    // Act
    const error = catchValidationError(() => parseTriggerEvent(event));

    // Assess
    expect(error.field).toBe('invokingEvent');
  });
});
