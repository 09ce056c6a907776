/**
 * Temporal's remote codec protocol, so authorised people can read encrypted payloads: the Web UI (configured
 * with this endpoint and to pass its access token) and the CLI (`--codec-endpoint <api>/api/codec
 * --codec-auth "Bearer <token>"`).
 *
 * A tenant's admin or ops (`platform:codec`) opens its own tenant's payloads only: a payload whose key id names
 * another tenant, the platform, or a former namespace-wide key refuses the whole call (403). Encoding is for the
 * caller's tenant. A platform operator opens any payload and encodes for the platform. Every call, refused ones
 * included, is appended to `codec_audit` before it is answered; if the audit cannot be written, nothing is decoded.
 */
import type { Payload } from '@temporalio/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { Operator } from '../../platform/auth/operators';
import type { Logger } from '../../platform/logger';
import { PLATFORM_TENANT_ID, type KeyOwner, type TenantPayloadCodec } from '../../platform/temporal/codec';
import { DomainError } from '../errors';
import type { Principal } from '../middleware/authenticate';
import { route, type AnyRoute } from '../routing';

const b64 = z.string().max(4_000_000).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloadList = z.array(z.object({ metadata: z.record(z.string(), b64).optional(), data: b64.optional() }).strict()).max(1000);
/** The Temporal CLI sends `{}` when a call has no payloads (a query without arguments): an empty list. */
const request = z.object({ payloads: payloadList.default([]) }).strict();
const payloads = z.object({ payloads: payloadList }).strict();

type WirePayload = { metadata?: Record<string, string>; data?: string };
const fromWire = (p: WirePayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toWire = (p: Payload): WirePayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

type Op = 'decode' | 'encode';
interface AuditEntry {
  requestId: string;
  operation: Op;
  principal: Principal | undefined;
  operator: Operator | undefined;
  payloadTenants: string[];
  namespaceKeyPayloads: number;
  payloadCount: number;
  outcome: 'ok' | 'refused' | 'invalid';
}

export interface CodecRouteDeps {
  /** A codec that passes unencrypted payloads through (the caller sent them; nothing is revealed). */
  codec: TenantPayloadCodec;
  db: Pool;
  log: Logger;
}

export function codecRoutes(deps: CodecRouteDeps): AnyRoute[] {
  return (['decode', 'encode'] as const).map((op) =>
    route({
      method: 'post',
      path: `/api/codec/${op}`,
      summary: `${op === 'decode' ? 'Decrypt' : 'Encrypt'} Temporal payloads (remote codec protocol): the caller's tenant's only, any for a platform operator`,
      tag: 'operations',
      access: { permission: 'platform:codec', operators: true },
      body: request,
      example: { body: { payloads: [] } },
      responses: { 200: { description: 'Payloads', schema: payloads }, 403: { description: "A payload is not the caller's tenant's", schema: null } },
      async handler(ctx, { body, principal, operator }) {
        const input = body.payloads.map(fromWire);
        const entry: AuditEntry = {
          requestId: ctx.state.requestId as string,
          operation: op,
          principal,
          operator,
          payloadTenants: [],
          namespaceKeyPayloads: 0,
          payloadCount: input.length,
          outcome: 'ok',
        };
        if (op === 'encode') {
          const tenantId = operator ? PLATFORM_TENANT_ID : principal!.tenantId;
          entry.payloadTenants = [tenantId];
          await audit(deps, entry);
          ctx.body = { payloads: deps.codec.encodeFor(tenantId, input).map(toWire) };
          return;
        }
        let owners: (KeyOwner | undefined)[];
        try {
          owners = input.map((p) => deps.codec.ownerOf(p));
        } catch {
          await audit(deps, { ...entry, outcome: 'invalid' });
          throw new DomainError('validation-error', 'A payload names a key id this platform does not use');
        }
        entry.payloadTenants = [...new Set(owners.flatMap((o) => (o?.kind === 'tenant' ? [o.tenantId] : [])))];
        entry.namespaceKeyPayloads = owners.filter((o) => o?.kind === 'namespace').length;
        const mayOpen = (o: KeyOwner | undefined) => !o || operator !== undefined || (o.kind === 'tenant' && o.tenantId === principal!.tenantId);
        if (!owners.every(mayOpen)) {
          await audit(deps, { ...entry, outcome: 'refused' });
          throw new DomainError('forbidden', "A payload is not your tenant's: only a platform operator may decode it");
        }
        let output: Payload[];
        try {
          output = await deps.codec.decode(input);
        } catch {
          await audit(deps, { ...entry, outcome: 'invalid' });
          throw new DomainError('validation-error', 'A payload could not be decrypted (altered, truncated or under a retired key)');
        }
        await audit(deps, entry);
        ctx.body = { payloads: output.map(toWire) };
      },
    }),
  );
}

async function audit(deps: CodecRouteDeps, e: AuditEntry): Promise<void> {
  const caller = e.operator ? `operator:${e.operator.name}` : e.principal!.kind === 'user' ? `user:${e.principal!.userId}` : `api_key:${e.principal!.apiKeyId}`;
  const callerTenant = e.operator ? null : e.principal!.tenantId;
  await deps.db.query(
    `INSERT INTO codec_audit (request_id, operation, caller, caller_tenant_id, payload_tenant_ids, namespace_key_payloads, payload_count, outcome)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [e.requestId.slice(0, 128), e.operation, caller, callerTenant, e.payloadTenants, e.namespaceKeyPayloads, e.payloadCount, e.outcome],
  );
  // The log line is for alerting; the table is the record. Ids only: never a payload.
  deps.log.info({ audit: 'codec', requestId: e.requestId, operation: e.operation, caller, callerTenant, payloadTenants: e.payloadTenants, outcome: e.outcome }, 'codec call');
}
