import { heartbeatHandler } from '../shared/health/handler';

export const handler = heartbeatHandler();
