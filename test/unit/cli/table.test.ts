import { formatTable, terminalLayout } from '../../../cli/table';

const ROWS = [
  ['id', 'status', 'reason'],
  [
    'inc-20261204T101500-0a1b2c3d',
    'open',
    'Security group sg-0abc lets the whole internet reach port 22 from 0.0.0.0/0',
  ],
  ['inc-20261204T101501-0a1b2c3e', 'remediated', 'EBS encryption by default is off in us-east-1'],
];
const ESCAPE = '\u001b';

describe('tables on the command line', () => {
  it('fit the terminal: no line wider than it, long cells clipped with an ellipsis', () => {
    // Act
    const lines = formatTable(ROWS, { columns: 60, colour: false });
    // Assess
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(60);
    expect(lines[1]).toContain('…');
    expect(lines[0]?.startsWith('id')).toBe(true);
  });

  it('keep every character where nothing limits the width (a pipe or a file)', () => {
    // Act
    const lines = formatTable(ROWS, { colour: false });
    // Assess
    expect(lines[1]).toContain('reach port 22 from 0.0.0.0/0');
    expect(lines.join('')).not.toContain(ESCAPE);
  });

  it('show the header in bold on a terminal only, never colouring a cell', () => {
    // Act
    const [header, ...body] = formatTable(ROWS, { columns: 200, colour: true });
    // Assess
    expect(header?.startsWith(`${ESCAPE}[1m`)).toBe(true);
    expect(body.join('')).not.toContain(ESCAPE);
  });

  it('take width and colour from a terminal, and neither from a pipe or when NO_COLOR is set', () => {
    // Prepare
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      // Act
      const terminal = terminalLayout({ isTTY: true, columns: 100 });
      const pipe = terminalLayout({ isTTY: false, columns: 0 } as never);
      process.env.NO_COLOR = '1';
      const noColour = terminalLayout({ isTTY: true, columns: 100 });
      // Assess
      expect(terminal).toEqual({ columns: 100, colour: true });
      expect(pipe).toEqual({ columns: undefined, colour: false });
      expect(noColour).toEqual({ columns: 100, colour: false });
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });
});
