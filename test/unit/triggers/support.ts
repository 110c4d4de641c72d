import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../../shared/errors';

type Json = Record<string, unknown>;

const FIXTURES = path.join(__dirname, '../../fixtures/events');

/** A fresh copy of one of the project's own event fixtures (tests may change it freely). */
export const loadEvent = (name: string): Json =>
  JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Json;

/** Runs `act`, which must throw a ValidationError, and returns it for assertions. */
export const catchValidationError = (act: () => unknown): ValidationError => {
  try {
    act();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
};

/** Freezes an object graph, so any write by the code under test throws. */
export const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
};

/** Reads a nested object of a fixture for editing (fails the test if it is not one). */
export const objectAt = (value: Json, ...keys: readonly string[]): Json => {
  let current: unknown = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null)
      throw new Error(`fixture has no object at ${keys.join('.')}`);
    current = (current as Json)[key];
  }
  if (typeof current !== 'object' || current === null)
    throw new Error(`fixture has no object at ${keys.join('.')}`);
  return current as Json;
};

/** A Config rule invocation fixture with its invokingEvent body changed by `edit`. */
export const withInvokingEvent = (event: Json, edit: (body: Json) => void): Json => {
  const body = JSON.parse(String(event.invokingEvent)) as Json;
  edit(body);
  return { ...event, invokingEvent: JSON.stringify(body) };
};
