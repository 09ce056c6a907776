/**
 * AES-256-GCM payload codec with a data key per tenant: every payload Temporal stores (workflow and activity
 * inputs, results, signals, queries, updates, memos, summaries, and failure messages via encodeCommonAttributes)
 * is ciphertext in its history, under a key that opens one tenant's payloads only.
 *
 * Whose a payload is comes from the SDK's serialization context: the workflow it belongs to (an activity's
 * payloads belong to the workflow that scheduled it), and every workflow id FinFlow starts names its tenant
 * (`<type>:<tenant id>:<key>`, the contracts' id functions; the API builds them from the caller's tenant). A
 * payload whose owner is unknown (another id, no context) is the platform's: only a platform operator opens it.
 *
 * A tenant's data key is derived (HKDF-SHA256) from a master key of PAYLOAD_ENCRYPTION_KEYS and the tenant id, so
 * no per-tenant key is stored. The key id in the metadata names the tenant and the master key's version
 * (`tenant/<tenant id>/<version>`) and is authenticated (GCM additional data): it cannot be relabelled to another
 * tenant or version. Rotation: add a master key, make it active; payloads under older versions still decode.
 *
 * Before tenant keys, payloads were encrypted with a master key itself under its bare id (one key for the whole
 * namespace). Those still decode while PAYLOAD_DECODE_NAMESPACE_KEYS is on (the migration window: histories of
 * runs started before), but nothing is encrypted that way any more.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec, type SerializationContext } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
/** The platform's own tenant (created by the first migration): owner of payloads no tenant's workflow owns. */
export const PLATFORM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TENANT_WORKFLOW_ID = new RegExp(`^[a-z][a-z0-9-]*:(${UUID}):`);
const TENANT_KEY_ID = new RegExp(`^tenant/(${UUID})/([A-Za-z0-9._-]{1,64})$`);
const HKDF_SALT = Buffer.from('finflow temporal payload key v1');
const MAX_CACHED_KEYS = 10_000;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Whose key encrypted a payload: a tenant's (derived), or a former namespace-wide master key. */
export type KeyOwner = { kind: 'tenant'; tenantId: string; version: string } | { kind: 'namespace'; version: string };

/** The tenant whose payloads a workflow's are; the platform's for an id that names no tenant. */
export function tenantOfWorkflowId(workflowId: string): string {
  return TENANT_WORKFLOW_ID.exec(workflowId)?.[1] ?? PLATFORM_TENANT_ID;
}

function tenantOfContext(context: SerializationContext | undefined): string | undefined {
  return context?.workflowId ? tenantOfWorkflowId(context.workflowId) : undefined;
}

export interface TenantPayloadCodecOptions {
  /** Master keys by version (PAYLOAD_ENCRYPTION_KEYS); old versions stay listed so old payloads decode. */
  masterKeys: ReadonlyMap<string, Buffer>;
  /** The version new payloads are encrypted under. */
  activeVersion: string;
  /** Decode payloads encrypted under a bare master key (before tenant keys). Never used to encode. */
  decodeNamespaceKeys: boolean;
  /** Pass unencrypted payloads through decode instead of refusing them (a migration window only). */
  allowUnencrypted: boolean;
}

export class TenantPayloadCodec implements PayloadCodec {
  private readonly derived = new Map<string, Buffer>();

  constructor(private readonly opts: TenantPayloadCodecOptions) {
    if (!opts.masterKeys.has(opts.activeVersion)) throw new ValueError(`payload codec: no key with id ${opts.activeVersion}`);
  }

  /** Encrypts for the tenant whose workflow the payloads belong to (the platform's when no workflow is named). */
  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    return this.encodeFor(tenantOfContext(context) ?? PLATFORM_TENANT_ID, payloads);
  }

  /** Encrypts for the named tenant, under the active version. */
  encodeFor(tenantId: string, payloads: Payload[]): Payload[] {
    const keyId = `tenant/${tenantId}/${this.opts.activeVersion}`;
    const key = this.tenantKey(tenantId, this.opts.activeVersion);
    return payloads.map((payload) => {
      const plaintext = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(utf8.encode(keyId));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(keyId) },
        data: Buffer.concat([iv, ciphertext, cipher.getAuthTag()]),
      };
    });
  }

  /**
   * Decrypts by the key id each payload carries. In a workflow's context, a payload of another tenant is refused
   * (the platform's are accepted: no tenant can produce them); so is an unencrypted one unless allowed.
   */
  async decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const expected = tenantOfContext(context);
    return payloads.map((payload) => {
      const owner = this.ownerOf(payload);
      if (!owner) {
        if (this.opts.allowUnencrypted) return payload;
        throw new ValueError('unencrypted payload refused (PAYLOAD_ALLOW_UNENCRYPTED is off)');
      }
      if (expected && owner.kind === 'tenant' && owner.tenantId !== expected && owner.tenantId !== PLATFORM_TENANT_ID) {
        throw new ValueError(`payload of tenant ${owner.tenantId} refused in a workflow of tenant ${expected}`);
      }
      return this.open(payload, owner);
    });
  }

  /** Whose key encrypted the payload, from its key id; undefined when it is not encrypted. */
  ownerOf(payload: Payload): KeyOwner | undefined {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return undefined;
    const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
    if (!keyIdBytes) throw new ValueError('encrypted payload without a key id');
    const keyId = fromUtf8.decode(keyIdBytes);
    const tenant = TENANT_KEY_ID.exec(keyId);
    if (tenant) return { kind: 'tenant', tenantId: tenant[1]!, version: tenant[2]! };
    if (this.opts.masterKeys.has(keyId)) return { kind: 'namespace', version: keyId };
    throw new ValueError(`encrypted payload uses unknown key id ${keyId}`);
  }

  private open(payload: Payload, owner: KeyOwner): Payload {
    let key: Buffer;
    if (owner.kind === 'tenant') {
      if (!this.opts.masterKeys.has(owner.version)) throw new ValueError(`encrypted payload uses unknown key version ${owner.version}`);
      key = this.tenantKey(owner.tenantId, owner.version);
    } else {
      if (!this.opts.decodeNamespaceKeys) throw new ValueError(`payload under the namespace-wide key ${owner.version} refused (PAYLOAD_DECODE_NAMESPACE_KEYS is off)`);
      key = this.opts.masterKeys.get(owner.version)!;
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(payload.metadata![KEY_ID_METADATA]!);
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      // A ValueError, as every refusal here: the SDK fails the task that carried the payload (Temporal retries it).
      throw new ValueError(`encrypted payload under key id ${fromUtf8.decode(payload.metadata![KEY_ID_METADATA]!)} does not authenticate: another key of that id, or altered`);
    }
    return temporal.api.common.v1.Payload.decode(plaintext);
  }

  private tenantKey(tenantId: string, version: string): Buffer {
    const cacheKey = `${version}/${tenantId}`;
    let key = this.derived.get(cacheKey);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', this.opts.masterKeys.get(version)!, HKDF_SALT, `tenant/${tenantId}`, 32));
      if (this.derived.size >= MAX_CACHED_KEYS) this.derived.clear();
      this.derived.set(cacheKey, key);
    }
    return key;
  }
}
