/** Tags of any AWS resource (EC2, IAM, ...) as a record: keys are unique per resource. */
export const tagRecord = (
  tags: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> =>
  Object.fromEntries(
    (tags ?? []).flatMap((tag) => (tag.Key === undefined ? [] : [[tag.Key, tag.Value ?? '']])),
  );
