/**
 * Temporal's remote codec protocol, so authorised people can read encrypted payloads: the Web UI (configured
 * with this endpoint and to pass its access token) and the CLI (`--codec-endpoint <api>/api/codec
 * --codec-auth "Bearer <token>"`). Every call needs `platform:codec` (admin, ops); nothing is logged.
 */
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { AesGcmPayloadCodec } from '../../platform/temporal/codec';
import { route, type AnyRoute } from '../routing';

const b64 = z.string().max(4_000_000).regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloads = z
  .object({ payloads: z.array(z.object({ metadata: z.record(z.string(), b64).optional(), data: b64.optional() }).strict()).max(1000) })
  .strict();

type WirePayload = { metadata?: Record<string, string>; data?: string };
const fromWire = (p: WirePayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toWire = (p: Payload): WirePayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

export function codecRoutes(codec: AesGcmPayloadCodec): AnyRoute[] {
  return (['decode', 'encode'] as const).map((op) =>
    route({
      method: 'post',
      path: `/api/codec/${op}`,
      summary: `${op === 'decode' ? 'Decrypt' : 'Encrypt'} Temporal payloads (remote codec protocol)`,
      tag: 'operations',
      access: { permission: 'platform:codec' },
      body: payloads,
      example: { body: { payloads: [] } },
      responses: { 200: { description: 'Payloads', schema: payloads } },
      async handler(ctx, { body }) {
        const input = body.payloads.map(fromWire);
        const output = op === 'decode' ? await codec.decode(input) : await codec.encode(input);
        ctx.body = { payloads: output.map(toWire) };
      },
    }),
  );
}
