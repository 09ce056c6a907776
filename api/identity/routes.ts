import { z } from 'zod';
import { DomainError } from '../errors';
import { limitBy, type Limit } from '../middleware/rate-limit';
import { route, type AnyRoute } from '../routing';
import type { JwtKeySet } from '../../platform/auth/jwt';
import * as s from './schemas';
import type { IdentityService } from './service';

const TAG = 'identity';
const password = 'correct horse battery staple';

export function identityRoutes(identity: IdentityService, jwt: JwtKeySet, limits: { registrations: Limit }): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/auth/register',
      summary: 'Create an organisation (tenant) and its first admin, and log the admin in',
      tag: TAG,
      access: 'public',
      body: s.registerBody,
      example: { body: { organisation: { name: 'Acme Ltd', slug: 'acme', defaultCurrency: 'EUR' }, admin: { email: 'ada@acme.test', password, displayName: 'Ada' } } },
      responses: { 201: { description: 'Registered', schema: s.registerResponse }, 409: { description: 'Slug or email already registered', schema: null } },
      async handler(ctx, { body }) {
        await limitBy(ctx, limits.registrations, ctx.ip);
        ctx.status = 201;
        ctx.body = await identity.register(body);
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/login',
      summary: 'Log in with email and password',
      tag: TAG,
      access: 'public',
      body: s.loginBody,
      example: { body: { email: 'ada@acme.test', password } },
      responses: {
        200: { description: 'Tokens', schema: s.tokensResponse },
        401: { description: 'Invalid email or password', schema: null },
        429: { description: 'Too many attempts for this account: wait Retry-After seconds', schema: null },
      },
      async handler(ctx, { body }) {
        try {
          ctx.body = await identity.login(body.email, body.password);
        } catch (err) {
          if (err instanceof DomainError && err.type === 'rate-limited') ctx.set('Retry-After', String(err.extensions.retryAfterSeconds));
          throw err;
        }
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/refresh',
      summary: 'Exchange a refresh token for new tokens (the old refresh token stops working; reusing it revokes the session)',
      tag: TAG,
      access: 'public',
      body: s.refreshBody,
      example: { body: { refreshToken: 'ffr_...' } },
      responses: { 200: { description: 'Tokens', schema: s.tokensResponse }, 401: { description: 'Invalid, expired or reused refresh token', schema: null } },
      async handler(ctx, { body }) {
        ctx.body = await identity.refresh(body.refreshToken);
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/logout',
      summary: 'End the current session: its access and refresh tokens are refused from now on',
      tag: TAG,
      access: { permission: 'profile:read' },
      responses: { 204: { description: 'Logged out', schema: null } },
      async handler(ctx, { principal }) {
        await identity.logout(principal!);
        ctx.status = 204;
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/invitations/accept',
      summary: 'Accept an invitation: create the account and log in',
      tag: TAG,
      access: 'public',
      body: s.acceptInvitationBody,
      example: { body: { token: 'ffi_...', password, displayName: 'Grace' } },
      responses: { 201: { description: 'Account created', schema: s.tokensResponse }, 401: { description: 'Invalid or expired invitation', schema: null } },
      async handler(ctx, { body }) {
        ctx.status = 201;
        ctx.body = await identity.acceptInvitation(body);
      },
    }),
    route({
      method: 'get',
      path: '/.well-known/jwks.json',
      summary: 'Public keys that verify FinFlow access tokens',
      tag: TAG,
      access: 'public',
      responses: { 200: { description: 'JSON Web Key Set', schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
      async handler(ctx) {
        ctx.set('Cache-Control', 'public, max-age=300');
        ctx.body = await jwt.jwks();
      },
    }),
    route({
      method: 'get',
      path: '/api/me',
      summary: 'The caller: user or API key, role and tenant',
      tag: TAG,
      access: { permission: 'profile:read' },
      responses: { 200: { description: 'The caller', schema: s.meResponse } },
      async handler(ctx, { principal }) {
        ctx.body = await identity.me(principal!);
      },
    }),
    route({
      method: 'get',
      path: '/api/users',
      summary: "The tenant's users",
      tag: TAG,
      access: { permission: 'users:read' },
      responses: { 200: { description: 'Users', schema: z.object({ data: z.array(s.userResponse) }) } },
      async handler(ctx, { principal }) {
        ctx.body = { data: await identity.listUsers(principal!) };
      },
    }),
    route({
      method: 'post',
      path: '/api/users/invitations',
      summary: 'Invite a person into the tenant with a role (the token is shown once)',
      tag: TAG,
      access: { permission: 'users:invite' },
      body: s.inviteBody,
      example: { body: { email: 'grace@acme.test', role: 'finance' } },
      responses: { 201: { description: 'Invitation', schema: s.invitationResponse } },
      async handler(ctx, { body, principal }) {
        ctx.status = 201;
        ctx.body = await identity.invite(principal!, body);
      },
    }),
    route({
      method: 'get',
      path: '/api/api-keys',
      summary: "The tenant's API keys (never their secrets)",
      tag: TAG,
      access: { permission: 'api-keys:read' },
      responses: { 200: { description: 'API keys', schema: z.object({ data: z.array(s.apiKeyResponse) }) } },
      async handler(ctx, { principal }) {
        ctx.body = { data: await identity.listApiKeys(principal!) };
      },
    }),
    route({
      method: 'post',
      path: '/api/api-keys',
      summary: 'Create an API key for a client server (the key is shown once)',
      tag: TAG,
      access: { permission: 'api-keys:manage' },
      body: s.createApiKeyBody,
      example: { body: { name: 'checkout service', role: 'client' } },
      responses: { 201: { description: 'The new key', schema: s.createdApiKeyResponse } },
      async handler(ctx, { body, principal }) {
        ctx.status = 201;
        ctx.body = await identity.createApiKey(principal!, body);
      },
    }),
    route({
      method: 'delete',
      path: '/api/api-keys/:id',
      summary: 'Revoke an API key: refused from its next request on',
      tag: TAG,
      access: { permission: 'api-keys:manage' },
      params: s.idParams,
      responses: { 204: { description: 'Revoked', schema: null }, 404: { description: 'No such key in this tenant', schema: null } },
      async handler(ctx, { params, principal }) {
        await identity.revokeApiKey(principal!, params.id);
        ctx.status = 204;
      },
    }),
    route({
      method: 'patch',
      path: '/api/users/:id',
      summary: "Change a person's role or status (disable, enable): from their next request; the last active admin stays",
      tag: TAG,
      access: { permission: 'users:manage' },
      params: s.idParams,
      body: s.updateUserBody,
      example: { body: { role: 'finance' } },
      responses: {
        200: { description: 'The person as changed', schema: s.userResponse },
        404: { description: 'No such person in this tenant', schema: null },
        409: { description: 'The change would leave the organisation without an active admin', schema: null },
      },
      async handler(ctx, { params, body, principal }) {
        ctx.body = await identity.updateUser(principal!, params.id, body);
      },
    }),
    route({
      method: 'patch',
      path: '/api/platform/tenants/:id',
      summary: 'Suspend, close or reopen an organisation (platform operators): its people and API keys are refused while it is not active',
      tag: TAG,
      access: 'operator',
      params: s.idParams,
      body: s.tenantStatusBody,
      example: { body: { status: 'suspended' } },
      responses: { 200: { description: 'The new status', schema: s.tenantStatusResponse }, 404: { description: 'No such organisation', schema: null } },
      async handler(ctx, { params, body }) {
        ctx.body = await identity.setTenantStatus(params.id, body.status);
      },
    }),
  ];
}
