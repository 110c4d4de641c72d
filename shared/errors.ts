/**
 * Base for every error the responder raises on purpose: a stable `name` and the underlying `cause`.
 * Each subclass spells its own name: bundles are minified without keepNames, so a class's runtime
 * name would be a mangled letter (test/unit/scripts/error-names.test.ts holds every class to it).
 */
export class ResponderError extends Error {
  override name = 'ResponderError';
}

/** An incoming event did not match any shape we accept. Names the offending field; nothing was changed. */
export class ValidationError extends ResponderError {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The environment (stage parameters) is invalid. Raised at cold start, naming the setting. */
export class ConfigurationError extends ResponderError {
  override name = 'ConfigurationError';
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

/** A remediation step failed; the incident records which one and why. */
export class RemediationError extends ResponderError {
  override name = 'RemediationError';
  constructor(
    message: string,
    readonly step: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A read after a change did not show the change in place within the retry budget. */
export class VerificationError extends ResponderError {
  override name = 'VerificationError';
}

/** Refused for safety, e.g. a local-only setting pointed at a real AWS endpoint. */
export class UnsafeOperationError extends ResponderError {
  override name = 'UnsafeOperationError';
}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * A rule chose not to change a resource (an Auto Scaling member, a refused change that was rolled
 * back, an in-use volume in snapshot-only mode). Not a failure: the incident stays open, says why,
 * and on-call is alerted to act.
 */
export class RemediationDeclined extends ResponderError {
  override name = 'RemediationDeclined';
}
