/**
 * Which secrets each FinFlow process holds. Every process is given only the secrets it uses (least privilege): the
 * API never holds the schema owner's or the outbox relay's database URL, the relay holds nothing but its own, and
 * so on. Kubernetes gives each component its own Secret with exactly these keys (deploy/k8s, checked by
 * test/unit/deploy-secrets.test.ts), and in production a process refuses to start when it is handed a secret that
 * is not its own (platform/config: productionProblems).
 */

/** Every configuration variable that is a secret (credentials, keys, URLs that may carry a password). */
export const SECRET_VARIABLES = [
  'DATABASE_URL',
  'DATABASE_MIGRATION_URL',
  'DATABASE_RELAY_URL',
  'REDIS_URL',
  'MONGO_URL',
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'TEMPORAL_API_KEY',
  'PAYLOAD_ENCRYPTION_KEYS',
  'PII_HASH_KEY',
  'PII_ENCRYPTION_KEYS',
  'AUTH_JWT_KEYS',
  'AUTH_API_KEY_PEPPER',
  'PLATFORM_OPERATORS',
  'STRIPE_API_KEY',
  'STRIPE_WEBHOOK_SECRET',
] as const;
export type SecretVariable = (typeof SECRET_VARIABLES)[number];

const KAFKA = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const;

export const COMPONENT_SECRETS = {
  /** REST API: sessions and limits (Redis), the readiness probes (Mongo, Kafka), tokens, keys, the codec, webhooks. */
  api: [
    'DATABASE_URL',
    'REDIS_URL',
    'MONGO_URL',
    ...KAFKA,
    'TEMPORAL_API_KEY',
    'PAYLOAD_ENCRYPTION_KEYS',
    'PII_HASH_KEY',
    'PII_ENCRYPTION_KEYS',
    'AUTH_JWT_KEYS',
    'AUTH_API_KEY_PEPPER',
    'PLATFORM_OPERATORS',
    'STRIPE_WEBHOOK_SECRET',
  ],
  /** Temporal workers: activities on the app role, payloads, the payment provider, applicants' identity for KYC. */
  worker: ['DATABASE_URL', 'TEMPORAL_API_KEY', 'PAYLOAD_ENCRYPTION_KEYS', 'PII_ENCRYPTION_KEYS', 'STRIPE_API_KEY'],
  /** Outbox relay: its own role (the outbox only) and the brokers. */
  relay: ['DATABASE_RELAY_URL', ...KAFKA],
  /** Kafka consumers: the app role, analytics (Mongo), the brokers; Temporal and payloads for each new tenant's close schedule. */
  consumers: ['DATABASE_URL', 'MONGO_URL', ...KAFKA, 'TEMPORAL_API_KEY', 'PAYLOAD_ENCRYPTION_KEYS'],
  /** The setup job: migrations as the schema owner, the Temporal namespace, Kafka topics. */
  setup: ['DATABASE_MIGRATION_URL', 'TEMPORAL_API_KEY', ...KAFKA],
  /** `pii:erase` (GDPR erasure, retention, encrypting older plaintext): the app role, and the key to encrypt with. */
  'pii-erase': ['DATABASE_URL', 'PII_ENCRYPTION_KEYS'],
} as const satisfies Record<string, readonly SecretVariable[]>;

export type Component = keyof typeof COMPONENT_SECRETS;
export const COMPONENTS = Object.keys(COMPONENT_SECRETS) as Component[];
