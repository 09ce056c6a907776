/**
 * Temporal plumbing shared by the API (client) and the workers: connection options from config (local dev
 * server, a self-hosted cluster with mTLS, or Temporal Cloud with an API key) and the data converter that
 * encrypts every payload.
 */
import fs from 'node:fs';
import { Client, Connection, type ConnectionOptions, type TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config';
import { TenantPayloadCodec } from './codec';

type TemporalConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CERT_PATH'
  | 'TEMPORAL_TLS_KEY_PATH'
  | 'TEMPORAL_TLS_CA_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
  | 'TEMPORAL_API_KEY'
>;

export function temporalTls(cfg: TemporalConfig): TLSConfig | boolean {
  const wantsTls = cfg.TEMPORAL_TLS || Boolean(cfg.TEMPORAL_TLS_CERT_PATH) || Boolean(cfg.TEMPORAL_API_KEY);
  if (!wantsTls) return false;
  const tls: TLSConfig = {};
  if (cfg.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = cfg.TEMPORAL_TLS_SERVER_NAME;
  if (cfg.TEMPORAL_TLS_CA_PATH) tls.serverRootCACertificate = fs.readFileSync(cfg.TEMPORAL_TLS_CA_PATH);
  if (cfg.TEMPORAL_TLS_CERT_PATH && cfg.TEMPORAL_TLS_KEY_PATH) {
    tls.clientCertPair = { crt: fs.readFileSync(cfg.TEMPORAL_TLS_CERT_PATH), key: fs.readFileSync(cfg.TEMPORAL_TLS_KEY_PATH) };
  }
  return Object.keys(tls).length ? tls : true;
}

/** Options accepted by both Connection (client) and NativeConnection (worker). */
export function temporalConnectionOptions(cfg: TemporalConfig) {
  return {
    address: cfg.TEMPORAL_ADDRESS,
    tls: temporalTls(cfg),
    ...(cfg.TEMPORAL_API_KEY ? { apiKey: cfg.TEMPORAL_API_KEY } : {}),
  } satisfies ConnectionOptions;
}

type CodecConfig = Pick<Config, 'PAYLOAD_ENCRYPTION_KEYS' | 'PAYLOAD_ENCRYPTION_KEY_ID' | 'PAYLOAD_DECODE_NAMESPACE_KEYS' | 'PAYLOAD_ALLOW_UNENCRYPTED'>;

export function createPayloadCodec(cfg: CodecConfig, overrides: { allowUnencrypted?: boolean } = {}): TenantPayloadCodec {
  return new TenantPayloadCodec({
    masterKeys: cfg.PAYLOAD_ENCRYPTION_KEYS,
    activeVersion: cfg.PAYLOAD_ENCRYPTION_KEY_ID,
    decodeNamespaceKeys: cfg.PAYLOAD_DECODE_NAMESPACE_KEYS,
    allowUnencrypted: overrides.allowUnencrypted ?? cfg.PAYLOAD_ALLOW_UNENCRYPTED,
  });
}

/** The API's client and the workers share it: each payload is encrypted for the tenant whose workflow it belongs to. */
export function createDataConverter(cfg: CodecConfig): DataConverter {
  return {
    payloadCodecs: [createPayloadCodec(cfg)],
    // Failure messages and stack traces go into the encoded attributes, so they are encrypted too.
    failureConverterPath: require.resolve('./failure-converter'),
  };
}

/**
 * A client whose connection opens on first use: the API starts (and `/ready` reports Temporal down) even while
 * Temporal is unreachable, instead of crash-looping.
 */
export function createTemporalClient(cfg: TemporalConfig & CodecConfig): Client {
  const connection = Connection.lazy({ ...temporalConnectionOptions(cfg), connectTimeout: 5000 });
  return new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(cfg) });
}

/** Task queue names, prefixed so a test run or a developer can own a private set on a shared server. */
export const TASK_QUEUES = {
  platform: 'platform',
  payments: 'payments',
  accounting: 'accounting',
  credit: 'credit',
  invoices: 'invoices',
} as const;

export type TaskQueueName = keyof typeof TASK_QUEUES;

export function taskQueue(cfg: Pick<Config, 'TEMPORAL_TASK_QUEUE_PREFIX'>, name: TaskQueueName): string {
  return cfg.TEMPORAL_TASK_QUEUE_PREFIX + TASK_QUEUES[name];
}
