import { securityHubFindingsHandler } from '../shared/security-hub/importer';

/** Not a rule: each incident as a Security Hub finding (ASFF), when the stack's securityHubFindings is on. */
export const handler = securityHubFindingsHandler();
