/**
 * The applicant's identity, as KYC needs it. Personal data: it lives in the credit_applications row only, never in
 * workflow history, logs, events or search attributes. Pure and workflow-safe.
 */

export interface Applicant {
  givenName: string;
  familyName: string;
  /** ISO 8601 date (YYYY-MM-DD). Used for the legal-age check only; age is not a model input. */
  dateOfBirth: string;
  /** Government identity number, as issued in `country`. */
  nationalId: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
  address: { line1: string; line2?: string; city: string; postalCode: string };
}

/** Fields KYC requires to be present and not blank (dotted paths into Applicant). */
export const REQUIRED_IDENTITY_FIELDS = ['givenName', 'familyName', 'dateOfBirth', 'nationalId', 'country', 'address.line1', 'address.city', 'address.postalCode'] as const;

export const MINIMUM_AGE_YEARS = 18;

export function missingIdentityFields(a: Partial<Applicant> | null | undefined): string[] {
  return REQUIRED_IDENTITY_FIELDS.filter((path) => {
    const v = path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), a);
    return typeof v !== 'string' || v.trim() === '';
  });
}

/** Whole years between an ISO date of birth and `on` (a calendar computation, no time zones). */
export function ageInYears(dateOfBirth: string, on: Date): number {
  const [y, m, d] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const years = on.getUTCFullYear() - y;
  const beforeBirthday = on.getUTCMonth() + 1 < m || (on.getUTCMonth() + 1 === m && on.getUTCDate() < d);
  return beforeBirthday ? years - 1 : years;
}

/** The form of a national id that is hashed and compared: country-qualified, without spaces, dashes or case. */
export function normalizedNationalId(country: string, nationalId: string): string {
  return `${country.toUpperCase()}:${nationalId.replace(/[\s.-]/g, '').toUpperCase()}`;
}
