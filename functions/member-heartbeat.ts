import { memberHeartbeatHandler } from '../shared/health/member-heartbeat-handler';

export const handler = memberHeartbeatHandler();
