import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The text of Chart.js's browser build, to inline in the HTML report. The package's exports map hides
 * dist/, so it is found next to the entry point that `require` resolves.
 */
export function chartJsSource(): string {
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}
