/** Request and response schemas of the identity routes (strict: unknown fields are refused). */
import { z } from 'zod';
import { EMAIL_SHAPE, normaliseEmail } from '../../core/identity/email';
import { API_KEY_ROLES, ROLES } from '../../core/identity/rbac';
import { documentedRules, text, timeZone } from '../schemas';

/**
 * Checked after NFKC folding and trimming (core/identity/email.ts). The document states the folded shape: an address
 * it calls valid is one the API takes; the API also folds full-width and ligature spellings into it.
 */
export const email = z
  .string()
  .max(254)
  .transform((v, ctx) => {
    const r = normaliseEmail(v);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.reason });
      return z.NEVER;
    }
    return r.email;
  })
  .meta({ pattern: EMAIL_SHAPE.source });

// Long enough to resist guessing, bounded so a huge "password" cannot make the KDF a denial of service.
export const password = z.string().min(12, 'must be at least 12 characters').max(256);
const displayName = text(100, { min: 1 });
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD');
export const registerBody = z
  .object({
    organisation: z
      .object({
        name: text(200, { min: 1 }),
        slug: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lower-case letters, digits and dashes, 2 to 63 characters'),
        defaultCurrency: currency.default('USD'),
        timeZone: timeZone.default('UTC'),
      })
      .strict(),
    admin: z.object({ email, password, displayName }).strict(),
  })
  .strict();

export const loginBody = z.object({ email, password: z.string().min(1).max(256) }).strict();
export const refreshBody = z.object({ refreshToken: z.string().min(1).max(512) }).strict();
export const inviteBody = z.object({ email, role: z.enum(ROLES) }).strict();
export const acceptInvitationBody = z.object({ token: z.string().min(1).max(512), password, displayName }).strict();
export const createApiKeyBody = z
  .object({
    name: text(100, { min: 1 }),
    role: z.enum(API_KEY_ROLES),
    /** Refused from this instant on; without it the key lasts until revoked. */
    expiresAt: z.iso
      .datetime({ offset: true })
      .refine((v) => Date.parse(v) > Date.now(), 'must be in the future')
      .meta(documentedRules('must be in the future'))
      .optional(),
  })
  .strict();
export const idParams = z.object({ id: z.string().uuid() }).strict();
export const updateUserBody = z
  .object({ role: z.enum(ROLES).optional(), status: z.enum(['active', 'disabled']).optional() })
  .strict()
  .refine((b) => b.role !== undefined || b.status !== undefined, 'name a role or a status to change')
  .meta({ minProperties: 1 });
export const tenantStatusBody = z.object({ status: z.enum(['active', 'suspended', 'closed']) }).strict();
export const tenantStatusResponse = z.object({ id: z.string().uuid(), status: z.enum(['active', 'suspended', 'closed']) });

export const tokensResponse = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string(),
  expiresIn: z.number().int(),
  refreshToken: z.string(),
});
export const registerResponse = z.object({ tenantId: z.string().uuid(), userId: z.string().uuid(), tokens: tokensResponse });
export const meResponse = z.object({
  principal: z.object({ kind: z.enum(['user', 'api_key']), id: z.string().uuid() }),
  role: z.enum(ROLES),
  user: z.object({ id: z.string().uuid(), email: z.string(), displayName: z.string() }).optional(),
  tenant: z.object({ id: z.string().uuid(), slug: z.string(), name: z.string(), defaultCurrency: z.string() }),
});
export const userResponse = z.object({
  id: z.string().uuid(),
  email: z.string(),
  displayName: z.string(),
  role: z.enum(ROLES),
  status: z.string(),
  createdAt: z.string(),
});
export const invitationResponse = z.object({ id: z.string().uuid(), email: z.string(), role: z.enum(ROLES), expiresAt: z.string(), token: z.string() });
export const apiKeyResponse = z.object({
  id: z.string().uuid(),
  name: z.string(),
  role: z.enum(ROLES),
  prefix: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export const createdApiKeyResponse = apiKeyResponse.omit({ revokedAt: true }).extend({ key: z.string() });
