import {
  parseComplianceChangeDetail,
  parseComplianceChangeEvent,
} from '../../../shared/triggers/config-compliance';
import { catchValidationError, loadEvent, objectAt } from './support';

const NON_COMPLIANT = 'config-compliance-change-non-compliant.json';

describe('parseComplianceChangeEvent', () => {
  it('observes a NON_COMPLIANT resource under the rule name the event carries', () => {
    // Prepare
    const event = loadEvent(NON_COMPLIANT);

    // Act
    const result = parseComplianceChangeEvent(event);

    // Assess
    expect(result).toEqual({
      kind: 'resources',
      observations: [
        {
          source: 'config-compliance',
          eventId: '6c7d8e9f-0a1b-4c2d-93e4-f5a6b7c8d9e0',
          eventName: 'Config Rules Compliance Change',
          accountId: '111122223333',
          region: 'us-east-1',
          resourceType: 'AWS::EC2::Volume',
          resourceId: 'vol-0a1b2c3d4e5f60718',
          observedAt: '2025-03-04T10:07:20Z',
          configRuleName: 'encrypted-volumes-conformance-pack-x7k2',
          summary: {
            messageType: 'ComplianceChangeNotification',
            complianceType: 'NON_COMPLIANT',
            previousComplianceType: 'COMPLIANT',
          },
        },
      ],
    });
  });

  it.each(['COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA'])(
    'reports %s as ignored, with no observations',
    (type) => {
      // Prepare
      const event = loadEvent(NON_COMPLIANT);
      objectAt(event, 'detail', 'newEvaluationResult').complianceType = type;

      // Act
      const result = parseComplianceChangeEvent(event);

      // Assess
      expect(result).toEqual({ kind: 'resources', observations: [], ignored: `compliance is ${type}` });
    },
  );

  it('accepts a first evaluation with no previous result', () => {
    // Prepare
    const event = loadEvent(NON_COMPLIANT);
    delete objectAt(event, 'detail').oldEvaluationResult;

    // Act
    const result = parseComplianceChangeEvent(event);

    // Assess
    expect(result.kind === 'resources' && result.observations[0]?.summary).toEqual({
      messageType: 'ComplianceChangeNotification',
      complianceType: 'NON_COMPLIANT',
    });
  });

  it('refuses an unknown compliance type', () => {
    // Prepare
    const event = loadEvent(NON_COMPLIANT);
    objectAt(event, 'detail', 'newEvaluationResult').complianceType = 'non_compliant';

    // Act
    const error = catchValidationError(() => parseComplianceChangeEvent(event));

    // Assess
    expect(error.field).toBe('detail.newEvaluationResult.complianceType');
  });

  it('refuses another message type', () => {
    // Prepare
    const event = loadEvent(NON_COMPLIANT);
    objectAt(event, 'detail').messageType = 'ConfigurationItemChangeNotification';

    // Act
    const error = catchValidationError(() => parseComplianceChangeEvent(event));

    // Assess
    expect(error.field).toBe('detail.messageType');
  });

  it('refuses a source other than aws.config', () => {
    // Prepare
    const event = { ...loadEvent(NON_COMPLIANT), source: 'custom.config' };

    // Act
    const error = catchValidationError(() => parseComplianceChangeEvent(event));

    // Assess
    expect(error.field).toBe('source');
  });

  it('refuses a detail whose resource id is missing', () => {
    // Prepare
    const event = loadEvent(NON_COMPLIANT);
    delete objectAt(event, 'detail').resourceId;

    // Act
    const error = catchValidationError(() => parseComplianceChangeEvent(event));

    // Assess
    expect(error.field).toBe('detail.resourceId');
  });
});

describe('parseComplianceChangeDetail', () => {
  it('parses the SNS form, naming fields under the prefix it is given', () => {
    // Prepare
    const message = objectAt(loadEvent(NON_COMPLIANT), 'detail');
    const delivery = { eventId: 'sns-message-id-1', observedAt: '2025-03-04T10:07:21.003Z' };

    // Act
    const result = parseComplianceChangeDetail(message, delivery, 'Message');
    const error = catchValidationError(() =>
      parseComplianceChangeDetail({ ...message, awsAccountId: 111122223333 }, delivery, 'Message'),
    );

    // Assess
    expect(result).toMatchObject({
      observations: [{ eventId: 'sns-message-id-1', resourceId: 'vol-0a1b2c3d4e5f60718' }],
    });
    expect(error.field).toBe('Message.awsAccountId');
  });
});
