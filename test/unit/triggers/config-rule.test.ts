import { createHash } from 'node:crypto';
import { parseConfigRuleInvocation } from '../../../shared/triggers/config-rule';
import { catchValidationError, loadEvent, objectAt, withInvokingEvent } from './support';

const VOLUME_CHANGE = 'config-rule-volume-change.json';

describe('parseConfigRuleInvocation', () => {
  describe('ConfigurationItemChangeNotification', () => {
    it('observes the item and returns what PutEvaluations needs', () => {
      // Prepare
      const event = loadEvent(VOLUME_CHANGE);

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result).toEqual({
        kind: 'resources',
        observations: [
          {
            source: 'config-rule',
            eventId: 'fixture-result-token-volume-change:vol-0a1b2c3d4e5f60718',
            eventName: 'ConfigurationItemChangeNotification',
            accountId: '111122223333',
            region: 'us-east-1',
            resourceType: 'AWS::EC2::Volume',
            resourceId: 'vol-0a1b2c3d4e5f60718',
            observedAt: '2025-03-04T10:07:12.481Z',
            configRuleName: 'ebs-volume-encrypted',
            sentItem: expect.any(Function),
            summary: {
              messageType: 'ConfigurationItemChangeNotification',
              configurationItemStatus: 'OK',
              changeType: 'UPDATE',
              eventLeftScope: false,
              arn: 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0a1b2c3d4e5f60718',
            },
          },
        ],
        configEvaluation: {
          resultToken: 'fixture-result-token-volume-change',
          configRuleName: 'ebs-volume-encrypted',
          ruleParameters: { kmsKeyAlias: 'alias/aws/ebs', phiScopeTag: 'phi' },
          orderingTimestamp: '2025-03-04T10:07:12.481Z',
        },
      });
    });

    it('never puts tag values or the configuration into the summary', () => {
      // Prepare
      const event = loadEvent(VOLUME_CHANGE);

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      const serialised = JSON.stringify(result);
      expect(serialised).not.toContain('cardiology-2025');
      expect(serialised).not.toContain('attachments');
    });

    it('passes the item on as sent, for the evaluation to judge it (not the adapter)', () => {
      // Prepare
      const event = loadEvent(VOLUME_CHANGE);
      const sent = objectAt(JSON.parse(event.invokingEvent as string), 'configurationItem');

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      if (result.kind !== 'resources') throw new Error('expected resources');
      expect(result.observations[0]?.sentItem?.()).toEqual(sent);
    });

    it('marks a deleted resource (configuration null) not applicable', () => {
      // Prepare
      const event = loadEvent('config-rule-volume-deleted.json');

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result.kind).toBe('resources');
      if (result.kind !== 'resources') return;
      expect(result.observations).toHaveLength(1);
      expect(result.observations[0]).toMatchObject({
        resourceId: 'vol-0a1b2c3d4e5f60718',
        notApplicable: true,
      });
      expect(result.configEvaluation?.orderingTimestamp).toBe('2025-03-05T08:00:01.117Z');
    });

    it.each(['ResourceDeletedNotRecorded', 'ResourceNotRecorded'])(
      'marks status %s not applicable',
      (status) => {
        // Prepare
        const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
          objectAt(body, 'configurationItem').configurationItemStatus = status;
        });

        // Act
        const result = parseConfigRuleInvocation(event);

        // Assess
        expect(result.kind === 'resources' && result.observations[0]?.notApplicable).toBe(true);
      },
    );

    it.each([true, 'true'])(
      'marks the resource not applicable when eventLeftScope is %p',
      (eventLeftScope) => {
        // Prepare
        const event = { ...loadEvent(VOLUME_CHANGE), eventLeftScope };

        // Act
        const result = parseConfigRuleInvocation(event);

        // Assess
        expect(result.kind === 'resources' && result.observations[0]?.notApplicable).toBe(true);
      },
    );

    it("never reads the string 'false' as true", () => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), eventLeftScope: 'false' };

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result.kind === 'resources' && result.observations[0]?.notApplicable).toBeUndefined();
    });

    it('refuses an eventLeftScope that is neither a boolean nor exactly true/false', () => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), eventLeftScope: 'False' };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('eventLeftScope');
    });

    it("keeps an IAM item's region 'global'", () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        Object.assign(objectAt(body, 'configurationItem'), {
          resourceType: 'AWS::IAM::User',
          resourceId: 'AIDAEXAMPLEUSERID001',
          awsRegion: 'global',
        });
      });

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result.kind === 'resources' && result.observations[0]?.region).toBe('global');
    });

    it('falls back to notificationCreationTime when the item has no capture time', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        objectAt(body, 'configurationItem').configurationItemCaptureTime = null;
      });

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result.configEvaluation?.orderingTimestamp).toBe('2025-03-04T10:07:14.902Z');
    });

    it('refuses an item with neither capture time nor notification time', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        delete objectAt(body, 'configurationItem').configurationItemCaptureTime;
        delete body.notificationCreationTime;
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent.notificationCreationTime');
    });

    it('uses a sha256 of a long result token in the event id, and the full token for PutEvaluations', () => {
      // Prepare
      const token = `tok-${'x'.repeat(2500)}`;
      const event = { ...loadEvent(VOLUME_CHANGE), resultToken: token };

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      const digest = createHash('sha256').update(token).digest('hex');
      expect(result.kind === 'resources' && result.observations[0]?.eventId).toBe(
        `${digest}:vol-0a1b2c3d4e5f60718`,
      );
      expect(result.configEvaluation?.resultToken).toBe(token);
    });

    it('reads absent ruleParameters as none', () => {
      // Prepare
      const { ruleParameters: _omitted, ...event } = loadEvent(VOLUME_CHANGE);

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result.configEvaluation?.ruleParameters).toEqual({});
    });
  });

  describe('OversizedConfigurationItemChangeNotification', () => {
    it('observes the resource from the summary, leaving the decision to a fresh read', () => {
      // Prepare
      const event = loadEvent('config-rule-volume-oversized.json');

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result).toMatchObject({
        kind: 'resources',
        observations: [
          {
            source: 'config-rule',
            eventId: 'fixture-result-token-volume-oversized:vol-0a1b2c3d4e5f60718',
            eventName: 'OversizedConfigurationItemChangeNotification',
            resourceType: 'AWS::EC2::Volume',
            resourceId: 'vol-0a1b2c3d4e5f60718',
            region: 'us-east-1',
            observedAt: '2025-03-04T10:09:30.006Z',
          },
        ],
        configEvaluation: { orderingTimestamp: '2025-03-04T10:09:30.006Z' },
      });
    });

    it("does not decide 'not applicable' from the summary's status", () => {
      // Prepare
      const event = withInvokingEvent(loadEvent('config-rule-volume-oversized.json'), (body) => {
        objectAt(body, 'configurationItemSummary').configurationItemStatus = 'ResourceDeleted';
      });

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      expect(result.kind === 'resources' && result.observations[0]?.notApplicable).toBeUndefined();
    });

    it('refuses a summary without a resource id', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent('config-rule-volume-oversized.json'), (body) => {
        delete objectAt(body, 'configurationItemSummary').resourceId;
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent.configurationItemSummary.resourceId');
    });
  });

  describe('ScheduledNotification', () => {
    it('asks for a sweep of the rule’s account and region, with a bounded event id', () => {
      // Prepare
      const event = loadEvent('config-rule-scheduled-notification.json');

      // Act
      const result = parseConfigRuleInvocation(event);

      // Assess
      const token = String(event.resultToken);
      expect(token.length).toBeGreaterThan(200);
      expect(result).toEqual({
        kind: 'sweep',
        sweep: {
          source: 'config-rule',
          eventId: createHash('sha256').update(token).digest('hex'),
          eventName: 'ScheduledNotification',
          accountId: '111122223333',
          region: 'us-east-1',
          observedAt: '2025-03-04T00:00:05.118Z',
        },
        configEvaluation: {
          resultToken: token,
          configRuleName: 'ebs-encryption-by-default',
          ruleParameters: { kmsKeyAlias: 'alias/aws/ebs', phiScopeTag: 'phi' },
          orderingTimestamp: '2025-03-04T00:00:05.118Z',
        },
      });
    });

    it('refuses a periodic invocation whose region cannot be known', () => {
      // Prepare
      const { configRuleArn: _omitted, ...event } = loadEvent('config-rule-scheduled-notification.json');

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('configRuleArn');
    });
  });

  describe('bad input', () => {
    it('refuses an unsupported message type, naming invokingEvent.messageType', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        body.messageType = 'ConfigurationSnapshotDeliveryCompleted';
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent.messageType');
      expect(error.message).toMatch(/^invokingEvent\.messageType: expected one of/);
    });

    it('names the nested field of a wrong type', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        objectAt(body, 'configurationItem').resourceId = 42;
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent.configurationItem.resourceId');
      expect(error.message).toBe(
        'invokingEvent.configurationItem.resourceId: expected string, received number',
      );
    });

    it('refuses an invokingEvent that is not valid JSON', () => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), invokingEvent: '{"configurationItem":' };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent');
      expect(error.message).toContain('invalid JSON');
    });

    it('refuses an invokingEvent sent as an object instead of a string', () => {
      // Prepare
      const original = loadEvent(VOLUME_CHANGE);
      const event = { ...original, invokingEvent: JSON.parse(String(original.invokingEvent)) as unknown };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent');
    });

    it('refuses ruleParameters whose values are not strings', () => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), ruleParameters: '{"sshPorts":[22,3389]}' };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('ruleParameters.sshPorts');
    });

    it('refuses ruleParameters that are not valid JSON', () => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), ruleParameters: "{'single':'quotes'}" };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('ruleParameters');
    });

    it('refuses an invokingEvent over 1 MiB', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        body.padding = 'p'.repeat(1024 * 1024);
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent');
      expect(error.message).toContain('longer than 1048576 characters');
    });

    it('refuses a resource id over 1024 characters', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        objectAt(body, 'configurationItem').resourceId = `vol-${'0'.repeat(1021)}`;
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent.configurationItem.resourceId');
      expect(error.message).toContain('longer than 1024 characters');
    });

    it('refuses a rule name over 1024 characters', () => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), configRuleName: 'r'.repeat(1025) };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('configRuleName');
    });

    it.each([
      ['resultToken', undefined],
      ['configRuleName', undefined],
      ['accountId', 111122223333],
    ])('refuses a missing or mistyped %s', (field, value) => {
      // Prepare
      const event = { ...loadEvent(VOLUME_CHANGE), [field]: value };

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe(field);
    });

    it('refuses an item whose account id is not a string of digits', () => {
      // Prepare
      const event = withInvokingEvent(loadEvent(VOLUME_CHANGE), (body) => {
        objectAt(body, 'configurationItem').awsAccountId = 'xxxxxxxxxxxx';
      });

      // Act
      const error = catchValidationError(() => parseConfigRuleInvocation(event));

      // Assess
      expect(error.field).toBe('invokingEvent.configurationItem.awsAccountId');
    });
  });
});
