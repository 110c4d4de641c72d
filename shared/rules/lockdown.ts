import type { Rule } from './rule';
import { sshGrantExpired } from './ssh-grant-expired';
import { sshOpenToWorld } from './ssh-open-to-world';

/**
 * The rules whose open paths `ssh lockdown` closes (cli/ssh-lockdown.ts), declared once: the member
 * on-call role holds their in-account statements for `ssh lockdown --account` (scripts/lib/member.ts).
 */
export const LOCKDOWN_RULES: readonly Rule[] = [sshOpenToWorld, sshGrantExpired];
