import { ValidationError } from '../../../shared/errors';
import {
  awsBoolean,
  boundedEventId,
  boundedSummary,
  jsonString,
  MAX_JSON_STRING_LENGTH,
  parseWith,
} from '../../../shared/triggers/parse';
import * as z from '../../../shared/zod';
import { catchValidationError } from './support';

describe('parseWith', () => {
  const schema = z.object({ detail: z.object({ items: z.array(z.object({ id: z.string() })) }) });

  it('returns the parsed value as a new object', () => {
    // Prepare
    const input = { detail: { items: [{ id: 'vol-1' }] } };

    // Act
    const output = parseWith(schema, input);

    // Assess
    expect(output).toEqual(input);
    expect(output).not.toBe(input);
    expect(output.detail).not.toBe(input.detail);
  });

  it('names the first offending field, with the prefix and array indexes', () => {
    // Prepare
    const input = { detail: { items: [{ id: 'vol-1' }, { id: 7 }] } };

    // Act
    const error = catchValidationError(() => parseWith(schema, input, 'event'));

    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe('event.detail.items[1].id');
    expect(error.message).toBe('event.detail.items[1].id: expected string, received number');
  });

  it('says a missing field was received as undefined', () => {
    // Act
    const error = catchValidationError(() => parseWith(schema, { detail: {} }));

    // Assess
    expect(error.field).toBe('detail.items');
    expect(error.message).toBe('detail.items: expected array, received undefined');
  });

  it('names the root when the value itself is wrong', () => {
    // Act
    const error = catchValidationError(() => parseWith(schema, 'not an object'));

    // Assess
    expect(error.field).toBe('(root)');
    expect(error.message).toBe('(root): expected object, received string');
  });
});

describe('awsBoolean', () => {
  it.each([
    [true, true],
    [false, false],
    ['true', true],
    ['false', false],
  ])('reads %p as %p', (input, expected) => {
    // Act
    const output = parseWith(awsBoolean, input);

    // Assess
    expect(output).toBe(expected);
  });

  it.each(['TRUE', 'False', 'yes', '1', '', 1, 0, null])('refuses %p', (input) => {
    // Act
    const error = catchValidationError(() => parseWith(awsBoolean, input, 'eventLeftScope'));

    // Assess
    expect(error.field).toBe('eventLeftScope');
  });
});

describe('jsonString', () => {
  const schema = z.object({ ruleParameters: jsonString(z.record(z.string(), z.string())) });

  it('parses the string and validates what it holds at the same path', () => {
    // Act
    const error = catchValidationError(() => parseWith(schema, { ruleParameters: '{"ports":22}' }));

    // Assess
    expect(error.field).toBe('ruleParameters.ports');
    expect(error.message).toBe('ruleParameters.ports: expected string, received number');
  });

  it('refuses a string that is not JSON', () => {
    // Act
    const error = catchValidationError(() => parseWith(schema, { ruleParameters: '{"ports":' }));

    // Assess
    expect(error.field).toBe('ruleParameters');
    expect(error.message).toBe('ruleParameters: invalid JSON string');
  });

  it('refuses a string over 1 MiB before parsing it', () => {
    // Prepare
    const oversized = JSON.stringify({ padding: 'x'.repeat(MAX_JSON_STRING_LENGTH) });

    // Act
    const error = catchValidationError(() => parseWith(schema, { ruleParameters: oversized }));

    // Assess
    expect(error.field).toBe('ruleParameters');
    expect(error.message).toContain(`longer than ${MAX_JSON_STRING_LENGTH} characters`);
  });
});

describe('boundedSummary', () => {
  it('drops undefined values and keeps flat scalars', () => {
    // Act
    const summary = boundedSummary({
      event: 'createSnapshot',
      encrypted: false,
      size: 8,
      kmsKeyId: null,
      cause: undefined,
    });

    // Assess
    expect(summary).toEqual({ event: 'createSnapshot', encrypted: false, size: 8, kmsKeyId: null });
  });

  it('cuts strings to 256 characters and keeps at most 20 keys', () => {
    // Prepare
    const facts = Object.fromEntries(
      Array.from({ length: 30 }, (_, index) => [`key${index}`, 'v'.repeat(1000)]),
    );

    // Act
    const summary = boundedSummary(facts);

    // Assess
    expect(Object.keys(summary)).toHaveLength(20);
    expect(Object.values(summary).every((value) => value === 'v'.repeat(256))).toBe(true);
  });
});

describe('boundedEventId', () => {
  it('keeps an id of up to 200 characters as it is', () => {
    // Prepare
    const id = 'a'.repeat(200);

    // Act
    const bounded = boundedEventId(id);

    // Assess
    expect(bounded).toBe(id);
  });

  it('replaces a longer id with its sha256, the same on every delivery', () => {
    // Prepare
    const token = 'b'.repeat(2500);

    // Act
    const first = boundedEventId(token);
    const second = boundedEventId(token);

    // Assess
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toBe(first);
    expect(boundedEventId(`${token}c`)).not.toBe(first);
  });
});
