import * as z from '../zod';
import { accountIdString, idString, looseTimestamp, regionString } from './parse';

/**
 * The EventBridge envelope every EventBridge family shares. `account` comes before the rest so a
 * malformed envelope is reported by its account first (sanitised fixtures send it as a number).
 * `version` is optional: documentation examples omit it.
 */
export const eventBridgeEnvelope = <D extends z.ZodMiniType>(detail: D) =>
  z.object({
    account: accountIdString,
    version: z.optional(z.string().check(z.maxLength(16))),
    id: idString,
    'detail-type': idString,
    source: idString,
    time: looseTimestamp,
    region: regionString,
    resources: z.optional(z.array(idString).check(z.maxLength(1000))),
    detail,
  });

/** The envelope with an unread detail: enough to check the envelope and route by detail-type. */
export const anyEventBridgeEvent = eventBridgeEnvelope(z.unknown());
