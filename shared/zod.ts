import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * zod/mini, the functional zod that tree-shakes (classic zod's methods bring its whole API into every
 * bundle). Mini loads no locale, so every message would read "Invalid input": English is set here,
 * once, so a message still says what was expected. Import zod from here: `import * as z from '../zod'`.
 */
config(en());

export * from 'zod/mini';
