import { EventEmitter } from 'node:events';
import { endQuietlyOnClosedPipe } from '../../../cli/index';

const failure = (code: string) => Object.assign(new Error(`write ${code}`), { code });

describe('a pipe the reader closed early (| head)', () => {
  it('ends the command quietly with success on EPIPE', () => {
    // Prepare
    const stdout = new EventEmitter();
    const exit = jest.fn();
    endQuietlyOnClosedPipe(stdout as never, exit);
    // Act
    stdout.emit('error', failure('EPIPE'));
    // Assess
    expect(exit).toHaveBeenCalledWith(0);
  });

  it('still fails on any other write error', () => {
    // Prepare
    const stdout = new EventEmitter();
    const exit = jest.fn();
    endQuietlyOnClosedPipe(stdout as never, exit);
    // Act, Assess
    expect(() => stdout.emit('error', failure('ENOSPC'))).toThrow('write ENOSPC');
    expect(exit).not.toHaveBeenCalled();
  });
});
