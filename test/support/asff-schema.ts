import * as z from '../../shared/zod';

/**
 * The fields ASFF requires of every finding (AWS Security Hub user guide, "Required top-level ASFF
 * attributes"), with the limits the API reference gives, and the optional ones this responder
 * relies on (compliance, record state, workflow, related findings).
 */
const nonEmpty = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
const timestamp = z.iso.datetime({ offset: true });
const severityLabel = z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
/** namespace/category/classifier, namespace one of ASFF's five. */
const findingType = z
  .string()
  .check(
    z.regex(
      /^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(\/[^/]+){0,2}$/,
    ),
  );
const relatedFinding = z.object({
  ProductArn: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:(\d{12})?:product\/[^/]+\/[^/]+$/)),
  Id: nonEmpty(512),
});

export const asffRequired = z.object({
  SchemaVersion: z.literal('2018-10-08'),
  Id: nonEmpty(512),
  ProductArn: z
    .string()
    .check(z.regex(/^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product\/\d{12}\/default$/)),
  GeneratorId: nonEmpty(512),
  AwsAccountId: z.string().check(z.regex(/^\d{12}$/)),
  Types: z.array(findingType).check(z.minLength(1), z.maxLength(50)),
  CreatedAt: timestamp,
  UpdatedAt: timestamp,
  Severity: z.object({ Label: severityLabel }),
  Title: nonEmpty(256),
  Description: nonEmpty(1024),
  Resources: z
    .array(z.object({ Type: nonEmpty(256), Id: nonEmpty(512), Region: z.optional(z.string()) }))
    .check(z.minLength(1), z.maxLength(32)),
  // Optional in ASFF, required of this responder's findings.
  FirstObservedAt: timestamp,
  Compliance: z.object({ Status: z.enum(['PASSED', 'WARNING', 'FAILED', 'NOT_AVAILABLE']) }),
  RecordState: z.enum(['ACTIVE', 'ARCHIVED']),
  Workflow: z.object({ Status: z.literal('NEW') }),
  Remediation: z.object({ Recommendation: z.object({ Text: nonEmpty(512), Url: z.optional(z.url()) }) }),
  ProductFields: z.record(z.string().check(z.maxLength(128)), z.string().check(z.maxLength(2048))),
  RelatedFindings: z.optional(z.array(relatedFinding)),
  FindingProviderFields: z.object({
    Severity: z.object({ Label: severityLabel }),
    Types: z.array(findingType).check(z.minLength(1)),
    RelatedFindings: z.optional(z.array(relatedFinding)),
  }),
});
