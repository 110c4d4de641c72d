import { describeFaults } from './fault-suite';

describeFaults('access-audit');
