/** How a table is laid out: the terminal's width and whether it shows colour. */
export interface TableLayout {
  /** Characters per line; undefined: no limit (a pipe, a file). */
  columns?: number;
  colour: boolean;
}

/** The narrowest a column is shrunk to before the table is allowed to overflow. */
const MIN_COLUMN = 8;
const BOLD = '\u001b[1m';
const RESET = '\u001b[0m';

/**
 * What stdout is: a terminal gets its width and colour (unless NO_COLOR is set); a pipe or a file
 * gets neither, so `--json`, `| grep` and redirected output never carry escape codes.
 */
export function terminalLayout(
  stdout: Pick<NodeJS.WriteStream, 'isTTY' | 'columns'> = process.stdout,
): TableLayout {
  const tty = stdout.isTTY === true;
  return {
    columns: tty && stdout.columns > 0 ? stdout.columns : undefined,
    colour: tty && !('NO_COLOR' in process.env),
  };
}

/** A pipe, a file, a test: no width limit, no colour. */
export const PLAIN: TableLayout = { colour: false };

const clip = (cell: string, width: number) => (cell.length <= width ? cell : `${cell.slice(0, width - 1)}…`);

/**
 * Rows as aligned columns (the first row is the header), for terminals. Wider than the terminal,
 * the widest columns are shrunk and their cells clipped with "…" (the full text is in --json).
 */
export function formatTable(rows: readonly (readonly string[])[], layout: TableLayout = PLAIN): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length);
    });
  }
  const total = () => widths.reduce((sum, width) => sum + width, 0) + 2 * Math.max(0, widths.length - 1);
  while (layout.columns !== undefined && total() > layout.columns) {
    const widest = widths.indexOf(Math.max(...widths));
    if ((widths[widest] ?? 0) <= MIN_COLUMN) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  return rows.map((row, rowIndex) => {
    const line = row
      .map((cell, index) => {
        const width = widths[index] ?? 0;
        const clipped = clip(cell, width);
        return index === row.length - 1 ? clipped : clipped.padEnd(width);
      })
      .join('  ')
      .trimEnd();
    return rowIndex === 0 && layout.colour ? `${BOLD}${line}${RESET}` : line;
  });
}
