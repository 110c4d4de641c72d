/**
 * True when an AWS SDK error has one of these names (its exception type, e.g. TrailNotFoundException).
 * Rules use it to tell "the resource is gone" from every other failure, which must propagate: a
 * throttled or denied read never turns into "gone" or "compliant".
 */
export const isAwsError = (error: unknown, ...names: readonly string[]): boolean =>
  typeof error === 'object' &&
  error !== null &&
  'name' in error &&
  typeof error.name === 'string' &&
  names.includes(error.name);
