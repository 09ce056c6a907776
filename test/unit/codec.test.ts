import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload, type SerializationContext } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, PLATFORM_TENANT_ID, TenantPayloadCodec, tenantOfWorkflowId, type TenantPayloadCodecOptions } from '../../platform/temporal/codec';
import { creditWorkflowId } from '../../workflows/credit/credit-application.contract';
import { paymentWorkflowId } from '../../workflows/payments/payment.contract';
import { refundWorkflowId } from '../../workflows/payments/refund.contract';
import { smokeWorkflowId } from '../../workflows/platform/smoke.contract';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (p: Payload | undefined) => defaultPayloadConverter.fromPayload(p!);
const keyIdOf = (p: Payload | undefined) => text(p!.metadata![KEY_ID_METADATA]);

const keys = new Map([
  ['2026-01', randomBytes(32)],
  ['2026-06', randomBytes(32)],
]);
const options: TenantPayloadCodecOptions = { masterKeys: keys, activeVersion: '2026-06', decodeNamespaceKeys: true, allowUnencrypted: false };
const codec = new TenantPayloadCodec(options);
const tenantA = randomUUID();
const tenantB = randomUUID();
const inWorkflowOf = (tenantId: string): SerializationContext => ({ type: 'workflow', namespace: 'finflow', workflowId: paymentWorkflowId(tenantId, randomUUID()) });
const inActivityOf = (tenantId: string): SerializationContext => ({ type: 'activity', namespace: 'finflow', workflowId: paymentWorkflowId(tenantId, randomUUID()), activityId: '1', isLocal: false });

/** A payload as the namespace-wide codec wrote it before tenant keys: the master key itself, its bare id as additional data. */
function namespaceEncrypted(version: string, value: unknown): Payload {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.get(version)!, iv);
  cipher.setAAD(Buffer.from(version));
  const inner = temporal.api.common.v1.Payload.encode(payloadOf(value)).finish();
  return {
    metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(version) },
    data: Buffer.concat([iv, cipher.update(inner), cipher.final(), cipher.getAuthTag()]),
  };
}

describe('TenantPayloadCodec', () => {
  it('round-trips a payload under a key id naming the tenant and the key version, and hides its content', async () => {
    const [encrypted] = await codec.encode([payloadOf({ cardholder: 'Ada Lovelace', amountMinor: 1099 })], inWorkflowOf(tenantA));
    expect(text(encrypted!.metadata![METADATA_ENCODING_KEY])).toBe(ENCRYPTED_ENCODING);
    expect(keyIdOf(encrypted)).toBe(`tenant/${tenantA}/2026-06`);
    expect(Object.keys(encrypted!.metadata!)).toEqual([METADATA_ENCODING_KEY, KEY_ID_METADATA]);
    expect(text(encrypted!.data)).not.toContain('Ada');
    expect(valueOf((await codec.decode([encrypted!], inWorkflowOf(tenantA)))[0])).toEqual({ cardholder: 'Ada Lovelace', amountMinor: 1099 });
  });

  it("encrypts an activity's payloads for the tenant of the workflow that scheduled it", async () => {
    const [encrypted] = await codec.encode([payloadOf('activity result')], inActivityOf(tenantB));
    expect(keyIdOf(encrypted)).toBe(`tenant/${tenantB}/2026-06`);
  });

  it("gives the platform the payloads of a workflow whose id names no tenant, or of no workflow", async () => {
    const [other] = await codec.encode([payloadOf('x')], { type: 'workflow', namespace: 'finflow', workflowId: `bench-noop-${randomUUID()}` });
    const [none] = await codec.encode([payloadOf('x')]);
    expect([keyIdOf(other), keyIdOf(none)]).toEqual([`tenant/${PLATFORM_TENANT_ID}/2026-06`, `tenant/${PLATFORM_TENANT_ID}/2026-06`]);
  });

  it("derives a different key for each tenant: A's ciphertext relabelled as B's does not authenticate", async () => {
    const [encrypted] = await codec.encode([payloadOf('pay 100')], inWorkflowOf(tenantA));
    const relabelled = { ...encrypted!, metadata: { ...encrypted!.metadata!, [KEY_ID_METADATA]: Buffer.from(`tenant/${tenantB}/2026-06`) } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/authenticate/);
  });

  it("refuses, in one tenant's workflow, a payload of another tenant, and accepts the platform's", async () => {
    const [fromB] = codec.encodeFor(tenantB, [payloadOf('forged by B')]);
    await expect(codec.decode([fromB!], inWorkflowOf(tenantA))).rejects.toThrow(`payload of tenant ${tenantB} refused in a workflow of tenant ${tenantA}`);
    await expect(codec.decode([fromB!], inActivityOf(tenantA))).rejects.toThrow('refused');
    const [platform] = codec.encodeFor(PLATFORM_TENANT_ID, [payloadOf('from an operator')]);
    expect(valueOf((await codec.decode([platform!], inWorkflowOf(tenantA)))[0])).toBe('from an operator');
  });

  it('uses a fresh nonce each time', async () => {
    const [a] = codec.encodeFor(tenantA, [payloadOf('same')]);
    const [b] = codec.encodeFor(tenantA, [payloadOf('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('decodes payloads written under a retired version after rotation, and encodes under the new one', async () => {
    const before = new TenantPayloadCodec({ ...options, activeVersion: '2026-01' });
    const [old] = before.encodeFor(tenantA, [payloadOf('written last year')]);
    expect(keyIdOf(old)).toBe(`tenant/${tenantA}/2026-01`);
    expect(valueOf((await codec.decode([old!], inWorkflowOf(tenantA)))[0])).toBe('written last year');
    expect(keyIdOf(codec.encodeFor(tenantA, [payloadOf('new')])[0])).toBe(`tenant/${tenantA}/2026-06`);
  });

  it('decodes payloads under a former namespace-wide key during the migration window, and refuses them after it', async () => {
    const legacy = namespaceEncrypted('2026-01', 'started before tenant keys');
    expect(valueOf((await codec.decode([legacy], inWorkflowOf(tenantA)))[0])).toBe('started before tenant keys');
    expect(codec.ownerOf(legacy)).toEqual({ kind: 'namespace', version: '2026-01' });
    const closed = new TenantPayloadCodec({ ...options, decodeNamespaceKeys: false });
    await expect(closed.decode([legacy])).rejects.toThrow('namespace-wide key 2026-01 refused');
  });

  it('refuses a payload whose key id or key version it does not hold', async () => {
    const stranger = new TenantPayloadCodec({ ...options, masterKeys: new Map([['other', randomBytes(32)]]), activeVersion: 'other' });
    const [foreign] = stranger.encodeFor(tenantA, [payloadOf('x')]);
    await expect(codec.decode([foreign!])).rejects.toThrow('unknown key version other');
    const bare = { ...foreign!, metadata: { ...foreign!.metadata!, [KEY_ID_METADATA]: Buffer.from('other') } };
    await expect(codec.decode([bare])).rejects.toThrow('unknown key id other');
  });

  it('detects tampering with the ciphertext', async () => {
    const [encrypted] = codec.encodeFor(tenantA, [payloadOf('pay 100')]);
    const data = Buffer.from(encrypted!.data!);
    data.writeUInt8(data.readUInt8(20) ^ 0x01, 20);
    await expect(codec.decode([{ ...encrypted!, data }])).rejects.toThrow(/authenticate/);
  });

  it('detects a swapped key version (the key id is authenticated)', async () => {
    const sameKey = randomBytes(32);
    const twoIds = new TenantPayloadCodec({ ...options, masterKeys: new Map([['a', sameKey], ['b', sameKey]]), activeVersion: 'a' });
    const [encrypted] = twoIds.encodeFor(tenantA, [payloadOf('x')]);
    const relabelled = { ...encrypted!, metadata: { ...encrypted!.metadata!, [KEY_ID_METADATA]: Buffer.from(`tenant/${tenantA}/b`) } };
    await expect(twoIds.decode([relabelled])).rejects.toThrow(/authenticate/);
  });

  it('refuses unencrypted payloads, unless a migration window allows them', async () => {
    const plain = payloadOf('plain');
    await expect(codec.decode([plain], inWorkflowOf(tenantA))).rejects.toThrow('unencrypted payload refused');
    await expect(new TenantPayloadCodec({ ...options, allowUnencrypted: true }).decode([plain])).resolves.toEqual([plain]);
  });

  it('will not start without its active key', () => {
    expect(() => new TenantPayloadCodec({ ...options, activeVersion: 'missing' })).toThrow('no key with id missing');
  });
});

describe('tenantOfWorkflowId', () => {
  it("reads the tenant from every workflow id FinFlow's contracts build", () => {
    const id = randomUUID();
    for (const workflowId of [smokeWorkflowId(tenantA, id), paymentWorkflowId(tenantA, id), refundWorkflowId(tenantA, id), creditWorkflowId(tenantA, id)]) {
      expect(`${workflowId} -> ${tenantOfWorkflowId(workflowId)}`).toBe(`${workflowId} -> ${tenantA}`);
    }
  });

  it('gives anything else to the platform', () => {
    expect(tenantOfWorkflowId(`payment:not-a-uuid:${randomUUID()}`)).toBe(PLATFORM_TENANT_ID);
    expect(tenantOfWorkflowId(tenantA)).toBe(PLATFORM_TENANT_ID);
  });
});
