import { ResponderError } from '../errors';

/**
 * Calls the responder's roles hold whose request fields IAM cannot limit: no condition key says
 * which fields UpdateTrail changes, whether UpdateTable turns deletion protection off, or whether
 * UpdateSSHPublicKey sets Active. The shape of each is declared once here: the call sites refuse
 * anything else before sending, and self-protection pages when a responder role's call (as
 * CloudTrail logged it) is outside the shape, whoever made it.
 */

/** A field naming what the call changes: any string. */
const NAMES = { names: true } as const;
type Field = typeof NAMES | { readonly value: string | boolean };

export interface CallShape {
  /** The CloudTrail eventName, which is also the SDK command's name without "Command". */
  readonly eventName: string;
  /** Fields as the SDK spells them; CloudTrail writes the same with a lower-case first letter. */
  readonly fields: Readonly<Record<string, Field>>;
}

export const OwnCall = {
  /** cloudtrail-logging-on: only turns log file validation and multi-region back on. */
  UpdateTrail: {
    eventName: 'UpdateTrail',
    fields: { Name: NAMES, EnableLogFileValidation: { value: true }, IsMultiRegionTrail: { value: true } },
  },
  /** ssh-grant-expired: only deactivates (a person's undo, which reactivates, runs as the on-call role). */
  UpdateSSHPublicKey: {
    eventName: 'UpdateSSHPublicKey',
    fields: { UserName: NAMES, SSHPublicKeyId: NAMES, Status: { value: 'Inactive' } },
  },
  /** self-protection: only turns the incident table's deletion protection back on. */
  UpdateTable: {
    eventName: 'UpdateTable',
    fields: { TableName: NAMES, DeletionProtectionEnabled: { value: true } },
  },
} as const satisfies Record<string, CallShape>;

/** The shapes by CloudTrail eventName. */
export const OWN_CALL_SHAPES: ReadonlyMap<string, CallShape> = new Map(
  Object.values(OwnCall).map((shape) => [shape.eventName, shape]),
);

/** SDK (TableName) and CloudTrail (tableName) spellings compare equal. */
const fieldKey = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

/**
 * The names of the request's fields outside the shape: unknown fields, and known ones with another
 * value. Never the values (a key, a bucket name): only field names leave this function.
 */
export function fieldsOutsideShape(shape: CallShape, request: object): string[] {
  const allowed = new Map(Object.entries(shape.fields).map(([name, field]) => [fieldKey(name), field]));
  return Object.entries(request)
    .filter(([name, value]) => {
      if (value === undefined) return false;
      const field = allowed.get(fieldKey(name));
      if (!field) return true;
      return 'names' in field ? typeof value !== 'string' : value !== field.value;
    })
    .map(([name]) => name);
}

/** The responder was about to send a request outside the shape it may send: nothing was sent. */
export class RequestOutsideShapeError extends ResponderError {
  override name = 'RequestOutsideShapeError';
  constructor(
    readonly eventName: string,
    readonly fields: readonly string[],
  ) {
    super(`refused to send ${eventName}: ${fields.join(', ')} outside what the responder may change`);
  }
}

/** Throws before a request outside the shape is sent. */
export function refuseOutsideShape(shape: CallShape, request: object): void {
  const outside = fieldsOutsideShape(shape, request);
  if (outside.length > 0) throw new RequestOutsideShapeError(shape.eventName, outside);
}
