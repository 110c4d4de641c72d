/** Base for every error the responder raises on purpose: a stable `name` and the underlying `cause`. */
export class ResponderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An incoming event did not match any shape we accept. Names the offending field; nothing was changed. */
export class ValidationError extends ResponderError {
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
  constructor(
    message: string,
    readonly setting: string,
  ) {
    super(message);
  }
}

/** A remediation step failed; the incident records which one and why. */
export class RemediationError extends ResponderError {
  constructor(
    message: string,
    readonly step: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A read after a change did not show the change in place within the retry budget. */
export class VerificationError extends ResponderError {}

/** Refused for safety, e.g. a local-only setting pointed at a real AWS endpoint. */
export class UnsafeOperationError extends ResponderError {}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * A rule chose not to change a resource (an Auto Scaling member, a refused change that was rolled
 * back, an in-use volume in snapshot-only mode). Not a failure: the incident stays open, says why,
 * and on-call is alerted to act.
 */
export class RemediationDeclined extends ResponderError {}
