import { TriggerSource } from '../model';
import * as z from '../zod';
import { eventBridgeEnvelope } from './eventbridge';
import { accountIdString, boundedSummary, idString, parseWith, regionString } from './parse';
import type { TriggerEvent } from './types';

/**
 * EventBridge "Config Rules Compliance Change". Its `detail` has the same body as the SNS
 * ComplianceChangeNotification `Message`, so the detail parser is exported for both.
 */

export const COMPLIANCE_CHANGE_DETAIL_TYPE = 'Config Rules Compliance Change';

const complianceType = z.enum(['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA']);

const complianceChangeDetailSchema = z.object({
  messageType: z.literal('ComplianceChangeNotification'),
  configRuleName: idString,
  resourceType: idString,
  resourceId: idString,
  awsRegion: regionString,
  awsAccountId: accountIdString,
  newEvaluationResult: z.object({ complianceType }),
  // Absent or null the first time a resource is evaluated.
  oldEvaluationResult: z.nullish(z.object({ complianceType: z.nullish(complianceType) })),
});

/** Which delivery carried the detail: the EventBridge envelope, or the SNS notification. */
export interface ComplianceChangeDelivery {
  eventId: string;
  observedAt: string;
}

/**
 * Parses a compliance-change body. Only NON_COMPLIANT is drift; the other results are valid events
 * that need nothing, reported as ignored. `fieldPrefix` names where the body sits (`detail`, `Message`).
 */
export const parseComplianceChangeDetail = (
  detail: unknown,
  delivery: ComplianceChangeDelivery,
  fieldPrefix = 'detail',
): TriggerEvent => {
  const parsed = parseWith(complianceChangeDetailSchema, detail, fieldPrefix);
  const result = parsed.newEvaluationResult.complianceType;
  if (result !== 'NON_COMPLIANT') {
    return { kind: 'resources', observations: [], ignored: `compliance is ${result}` };
  }
  return {
    kind: 'resources',
    observations: [
      {
        source: TriggerSource.ConfigCompliance,
        eventId: delivery.eventId,
        eventName: COMPLIANCE_CHANGE_DETAIL_TYPE,
        accountId: parsed.awsAccountId,
        region: parsed.awsRegion,
        resourceType: parsed.resourceType,
        resourceId: parsed.resourceId,
        observedAt: delivery.observedAt,
        configRuleName: parsed.configRuleName,
        summary: boundedSummary({
          messageType: parsed.messageType,
          complianceType: result,
          previousComplianceType: parsed.oldEvaluationResult?.complianceType ?? undefined,
        }),
      },
    ],
  };
};

const complianceChangeEventSchema = z.extend(eventBridgeEnvelope(z.unknown()), {
  'detail-type': z.literal(COMPLIANCE_CHANGE_DETAIL_TYPE),
  source: z.literal('aws.config'),
});

/** Parses an EventBridge "Config Rules Compliance Change" event. */
export const parseComplianceChangeEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(complianceChangeEventSchema, event);
  return parseComplianceChangeDetail(envelope.detail, { eventId: envelope.id, observedAt: envelope.time });
};
