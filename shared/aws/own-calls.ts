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
type Field =
  | typeof NAMES
  | { readonly value: string | boolean }
  /** An object whose own fields have shapes (PutPermission's Condition). */
  | { readonly fields: Readonly<Record<string, Field>> };

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
  /**
   * self-protection (deployment: organisation): only puts back the default bus's statement admitting
   * the organisation, by parameters: a Policy (the whole bus policy replaced) is never sent.
   */
  PutPermission: {
    eventName: 'PutPermission',
    fields: {
      EventBusName: { value: 'default' },
      StatementId: NAMES,
      Action: { value: 'events:PutEvents' },
      Principal: { value: '*' },
      Condition: {
        fields: { Type: { value: 'StringEquals' }, Key: { value: 'aws:PrincipalOrgID' }, Value: NAMES },
      },
    },
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
 * value (a nested one as `condition.value`). Never the values (a key, a bucket name): only field
 * names leave this function.
 */
export function fieldsOutsideShape(shape: Pick<CallShape, 'fields'>, request: object): string[] {
  const allowed = new Map(Object.entries(shape.fields).map(([name, field]) => [fieldKey(name), field]));
  return Object.entries(request).flatMap(([name, value]) => {
    if (value === undefined) return [];
    const field = allowed.get(fieldKey(name));
    if (!field) return [name];
    if ('fields' in field) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [name];
      return fieldsOutsideShape(field, value).map((inner) => `${name}.${inner}`);
    }
    const outside = 'names' in field ? typeof value !== 'string' : value !== field.value;
    return outside ? [name] : [];
  });
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
