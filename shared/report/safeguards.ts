/** Names of the HIPAA Security Rule standards and specifications the rules cite (45 CFR Part 164). */
const SAFEGUARD_NAMES: Readonly<Record<string, string>> = {
  '164.308(a)(1)(ii)(D)': 'Information system activity review',
  '164.308(a)(4)(ii)(C)': 'Access establishment and modification',
  '164.312(a)(1)': 'Access control',
  '164.312(a)(2)(i)': 'Unique user identification',
  '164.312(a)(2)(iv)': 'Encryption and decryption',
  '164.312(b)': 'Audit controls',
  '164.312(e)(1)': 'Transmission security',
  '164.312(e)(2)(ii)': 'Encryption (transmission security)',
  '164.314(a)': 'Business associate contracts or other arrangements',
};

/** The safeguard's name, or an empty string for a citation this table does not know yet. */
export const safeguardName = (citation: string): string => SAFEGUARD_NAMES[citation] ?? '';

/** Citations in the order of the regulation: 164.308 before 164.312, (a)(1) before (a)(2)(i). */
export function compareCitations(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
