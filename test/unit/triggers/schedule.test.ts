import { parseScheduledEvent } from '../../../shared/triggers/schedule';
import { catchValidationError, loadEvent } from './support';

describe('parseScheduledEvent', () => {
  it('asks for a sweep of the account and region the schedule fired in', () => {
    // Prepare
    const event = loadEvent('scheduled-event.json');

    // Act
    const result = parseScheduledEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'sweep',
      sweep: {
        source: 'schedule',
        eventId: '0a1b2c3d-4e5f-4a6b-97c8-d9e0f1a2b3c4',
        eventName: 'Scheduled Event',
        accountId: '111122223333',
        region: 'eu-west-1',
        observedAt: '2025-03-04T06:00:00Z',
      },
    });
  });

  it('accepts the EventBridge Scheduler form, whose detail is the string "{}"', () => {
    // Prepare
    const event = loadEvent('scheduler-event.json');

    // Act
    const result = parseScheduledEvent(event);

    // Assess
    expect(result).toMatchObject({
      kind: 'sweep',
      sweep: { eventId: '1b2c3d4e-5f6a-4b7c-a8d9-e0f1a2b3c4d5' },
    });
  });

  it('accepts an event with no version and a custom detail', () => {
    // Prepare
    const event: Record<string, unknown> = {
      ...loadEvent('scheduled-event.json'),
      detail: { run: 'nightly' },
    };
    delete event.version;

    // Act
    const result = parseScheduledEvent(event);

    // Assess
    expect(result.kind).toBe('sweep');
  });

  it.each([
    ['a detail string that is not JSON', { detail: '{' }, 'detail'],
    ['a detail that is a list', { detail: [] }, 'detail'],
    ['a numeric account', { account: 111122223333 }, 'account'],
    ['an account with letters', { account: '1111-2222-3333' }, 'account'],
    ['a missing id', { id: undefined }, 'id'],
    ['an id over 1024 characters', { id: 'i'.repeat(1025) }, 'id'],
    ['another source', { source: 'custom.cron' }, 'source'],
    ['a region that is not a region name', { region: 'EU West' }, 'region'],
  ])('refuses %s', (_case, change, field) => {
    // Prepare
    const event = { ...loadEvent('scheduled-event.json'), ...change };

    // Act
    const error = catchValidationError(() => parseScheduledEvent(event));

    // Assess
    expect(error.field).toBe(field);
  });
});
