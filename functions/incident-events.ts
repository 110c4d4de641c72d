import { incidentEventsHandler } from '../shared/events/publisher';

/** Not a rule: publishes each incident's opening and status changes to the stack's event bus. */
export const handler = incidentEventsHandler();
