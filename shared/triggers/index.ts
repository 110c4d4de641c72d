import { CLOUDTRAIL_DETAIL_TYPE, parseCloudTrailEvent } from './cloudtrail';
import { COMPLIANCE_CHANGE_DETAIL_TYPE, parseComplianceChangeEvent } from './config-compliance';
import { ITEM_CHANGE_DETAIL_TYPE, parseConfigItemChangeEvent } from './config-item-change';
import { parseConfigRuleInvocation } from './config-rule';
import { EbsDetailType, parseEbsNotificationEvent } from './ebs';
import { anyEventBridgeEvent } from './eventbridge';
import { ImageScanDetailType, parseImageScanEvent } from './image-scan';
import { invalid, parseWith, truncate } from './parse';
import { parseScheduledEvent, SCHEDULED_DETAIL_TYPE } from './schedule';
import type { TriggerEvent } from './types';

export { CLOUDTRAIL_EVENT_NAMES, parseCloudTrailEvent, parseCloudTrailRecord } from './cloudtrail';
export { parseComplianceChangeDetail, parseComplianceChangeEvent } from './config-compliance';
export { parseConfigItemChangeEvent } from './config-item-change';
export { parseConfigRuleInvocation } from './config-rule';
export { parseEbsNotificationEvent } from './ebs';
export { parseImageScanEvent } from './image-scan';
export { parseScheduledEvent } from './schedule';
export type { ConfigEvaluationContext, SweepRequest, TriggerEvent } from './types';

/** EventBridge families by detail-type. Each parser checks its own `source`. */
const EVENTBRIDGE_PARSERS: Readonly<Record<string, (event: unknown) => TriggerEvent>> = {
  [CLOUDTRAIL_DETAIL_TYPE]: parseCloudTrailEvent,
  [COMPLIANCE_CHANGE_DETAIL_TYPE]: parseComplianceChangeEvent,
  [ITEM_CHANGE_DETAIL_TYPE]: parseConfigItemChangeEvent,
  [EbsDetailType.Snapshot]: parseEbsNotificationEvent,
  [EbsDetailType.Volume]: parseEbsNotificationEvent,
  [SCHEDULED_DETAIL_TYPE]: parseScheduledEvent,
  [ImageScanDetailType.EcrScan]: parseImageScanEvent,
  [ImageScanDetailType.InspectorScan]: parseImageScanEvent,
  [ImageScanDetailType.InspectorFinding]: parseImageScanEvent,
  [ImageScanDetailType.EcrAction]: parseImageScanEvent,
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The one entry point: any event a responder function receives → TriggerEvent. Dispatches by shape
 * (a Config rule invocation has `invokingEvent` + `resultToken`; EventBridge has `detail-type` +
 * `source`) and throws ValidationError, naming the field, for anything else.
 */
export const parseTriggerEvent = (event: unknown): TriggerEvent => {
  if (!isRecord(event)) throw invalid('', 'expected an AWS Config rule invocation or an EventBridge event');
  if ('invokingEvent' in event && 'resultToken' in event) return parseConfigRuleInvocation(event);
  if ('detail-type' in event && 'source' in event) {
    // The envelope first, so a malformed envelope is reported as such whatever its detail-type.
    const envelope = parseWith(anyEventBridgeEvent, event);
    const detailType = envelope['detail-type'];
    const parse = Object.hasOwn(EVENTBRIDGE_PARSERS, detailType)
      ? EVENTBRIDGE_PARSERS[detailType]
      : undefined;
    if (!parse)
      throw invalid('detail-type', `unsupported detail-type ${JSON.stringify(truncate(detailType, 64))}`);
    return parse(event);
  }
  throw invalid(
    '',
    'expected an AWS Config rule invocation (invokingEvent, resultToken) or an EventBridge event (detail-type, source)',
  );
};
