/**
 * Temporal payload keys per tenant, over HTTP against the real API and Temporal. The attack: a freshly registered
 * organisation's admin posts another tenant's payment start payloads, as Temporal's history (and the Web UI's API)
 * returns them, to the codec endpoint. Each tenant's payloads are encrypted under a key of its own, the endpoint
 * opens only the caller's tenant's payloads, only a configured platform operator opens any tenant's, and every
 * call, refused ones included, is in the audit table. No worker serves the payment: its start event is all the
 * test needs, and the workflow is terminated at the end.
 */
import { createCipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import type { Pool } from '../../platform/db/pool';
import { paymentWorkflowId } from '../../workflows/payments/payment.contract';
import { bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { ownerPool } from '../support/env';

const OPERATOR_TOKEN = `ffo_${randomBytes(32).toString('base64url')}`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

type WirePayload = { metadata: Record<string, string>; data: string };
const toWire = (p: temporal.api.common.v1.IPayload): WirePayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const metadataOf = (p: WirePayload, key: string) => Buffer.from(p.metadata[key] ?? '', 'base64').toString();
const plaintextOf = (p: WirePayload) => Buffer.from(p.data, 'base64').toString();

let api: TestApi;
let owner: Pool;
let a: RegisteredTenant;
let b: RegisteredTenant;
let workflowId: string;
let customerId: string;
/** The payment's start payloads, as they sit in Temporal's history. */
let startPayloads: WirePayload[];

beforeAll(async () => {
  api = startApi({ PAYMENT_SYNC_WAIT_MS: '0', PLATFORM_OPERATORS: `on-call:${sha256(OPERATOR_TOKEN)}` });
  owner = ownerPool(api.deps.config);
  [a, b] = [await registerTenant(api), await registerTenant(api)];
  customerId = `cus_${randomUUID().replace(/-/g, '')}`;
  const created = await api
    .http()
    .post('/api/payments')
    .set(bearer(a.admin.accessToken))
    .set('Idempotency-Key', randomUUID())
    .send({ amountMinor: 4200, currency: 'EUR', customerId, paymentMethod: 'pm_card_visa' })
    .expect(202);
  workflowId = paymentWorkflowId(a.tenantId, created.body.id);
  const { history } = await api.deps.temporal.workflowService.getWorkflowExecutionHistory({
    namespace: api.deps.config.TEMPORAL_NAMESPACE,
    execution: { workflowId },
  });
  startPayloads = history!.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!.map(toWire);
});

afterAll(async () => {
  await api.deps.temporal.workflow.getHandle(workflowId).terminate('test over').catch(() => undefined);
  await owner.end();
  await api.close();
});

const decode = (token: string, payloads: WirePayload[]) => api.http().post('/api/codec/decode').set(bearer(token)).send({ payloads });
const encode = (token: string, payloads: WirePayload[]) => api.http().post('/api/codec/encode').set(bearer(token)).send({ payloads });

describe('the codec endpoint', () => {
  it("refuses another tenant's admin a payment's start payloads, and opens them for the payment's own tenant", async () => {
    expect(startPayloads.length).toBeGreaterThan(0);
    expect(startPayloads.map(plaintextOf).join('')).not.toContain(customerId);

    const asB = await decode(b.admin.accessToken, startPayloads);
    expect(((asB.body.payloads ?? []) as WirePayload[]).map(plaintextOf).join('')).not.toContain(customerId);
    expect(asB.status).toBe(403);
    expect(asB.body.type).toBe('urn:finflow:problem:forbidden');

    const asA = await decode(a.admin.accessToken, startPayloads).expect(200);
    expect(asA.body.payloads.map(plaintextOf).join('')).toContain(customerId);
  });

  it('encrypts each payload under a key id naming its tenant and the key version', () => {
    for (const p of startPayloads) {
      expect(metadataOf(p, METADATA_ENCODING_KEY)).toBe('binary/encrypted');
      expect(metadataOf(p, 'encryption-key-id')).toBe(`tenant/${a.tenantId}/${api.deps.config.PAYLOAD_ENCRYPTION_KEY_ID}`);
    }
  });

  it("encodes for the caller's tenant only: what B encodes cannot pass for A's", async () => {
    const forged = toWire(defaultPayloadConverter.toPayload({ ...{ amountMinor: 1 }, customerId }));
    const encoded = await encode(b.admin.accessToken, [forged]).expect(200);
    expect(metadataOf(encoded.body.payloads[0], 'encryption-key-id')).toBe(`tenant/${b.tenantId}/${api.deps.config.PAYLOAD_ENCRYPTION_KEY_ID}`);
    await decode(a.admin.accessToken, encoded.body.payloads).expect(403);
    await decode(b.admin.accessToken, encoded.body.payloads).expect(200);
  });

  it('opens payloads under the old namespace-wide key for a platform operator only', async () => {
    const keyId = api.deps.config.PAYLOAD_ENCRYPTION_KEY_ID;
    const legacy = legacyEncrypt(api.deps.config.PAYLOAD_ENCRYPTION_KEYS.get(keyId)!, keyId, { customerId });
    await decode(a.admin.accessToken, [legacy]).expect(403);
    const asOperator = await decode(OPERATOR_TOKEN, [legacy]).expect(200);
    expect(asOperator.body.payloads.map(plaintextOf).join('')).toContain(customerId);
  });

  it("lets the configured platform operator open any tenant's payloads; an unknown operator token is refused", async () => {
    const asOperator = await decode(OPERATOR_TOKEN, startPayloads).expect(200);
    expect(asOperator.body.payloads.map(plaintextOf).join('')).toContain(customerId);
    await decode(`ffo_${randomBytes(32).toString('base64url')}`, startPayloads).expect(401);
  });

  it("takes the CLI's call without payloads ({}, a query with no arguments) as an empty list, as the OpenAPI document says", async () => {
    for (const op of ['decode', 'encode']) {
      const answer = await api.http().post(`/api/codec/${op}`).set(bearer(a.admin.accessToken)).send({}).expect(200);
      expect(answer.body).toEqual({ payloads: [] });
    }
    const doc = await api.http().get('/api/openapi.json').expect(200);
    const body = doc.body.paths['/api/codec/encode'].post.requestBody.content['application/json'].schema;
    expect(body.required ?? []).not.toContain('payloads');
    expect(body.properties.payloads.maxItems).toBe(1000);
  });

  it('audit-logs every call with who called and whose payloads they were, refused calls included', async () => {
    const requestId = `codec-audit-${randomUUID()}`;
    await api.http().post('/api/codec/decode').set(bearer(b.admin.accessToken)).set('X-Request-Id', requestId).send({ payloads: startPayloads }).expect(403);
    const { rows } = await owner.query('SELECT operation, caller, caller_tenant_id, payload_tenant_ids, payload_count, outcome FROM codec_audit WHERE request_id = $1', [requestId]);
    expect(rows).toEqual([
      {
        operation: 'decode',
        caller: expect.stringMatching(/^user:/),
        caller_tenant_id: b.tenantId,
        payload_tenant_ids: [a.tenantId],
        payload_count: startPayloads.length,
        outcome: 'refused',
      },
    ]);
  });
});

/** A payload as the namespace-wide codec wrote it before tenant keys (AES-256-GCM, the key id as additional data). */
function legacyEncrypt(key: Buffer, keyId: string, value: unknown): WirePayload {
  const inner = temporal.api.common.v1.Payload.encode(defaultPayloadConverter.toPayload(value)).finish();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(keyId));
  const data = Buffer.concat([iv, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  return toWire({ metadata: { [METADATA_ENCODING_KEY]: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from(keyId) }, data });
}
