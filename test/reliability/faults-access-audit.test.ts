import { describeFaults } from './fault-suite';
import { ACCESS_AUDIT } from './scenarios';

describeFaults('access-audit', ACCESS_AUDIT);
