import { generateLocalSecrets } from '../../deploy/local/lib/secrets';
import { randomBytes } from 'node:crypto';
import {
  COMPONENT_SECRETS,
  ConfigError,
  configWarnings,
  loadComponentConfig,
  loadConfig,
  loadConfigSection,
  LOCAL_STRIPE_WEBHOOK_SECRET,
  SECRET_VARIABLES,
} from '../../platform/config';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const { AUTH_JWT_KEYS, AUTH_JWT_ACTIVE_KID, AUTH_API_KEY_PEPPER, PII_HASH_KEY, PII_ENCRYPTION_KEYS, PII_ENCRYPTION_KEY_ID } = generateLocalSecrets() as Record<
  'AUTH_JWT_KEYS' | 'AUTH_JWT_ACTIVE_KID' | 'AUTH_API_KEY_PEPPER' | 'PII_HASH_KEY' | 'PII_ENCRYPTION_KEYS' | 'PII_ENCRYPTION_KEY_ID',
  string
>;
const auth = { AUTH_JWT_KEYS, AUTH_JWT_ACTIVE_KID, AUTH_API_KEY_PEPPER, PII_HASH_KEY, PII_ENCRYPTION_KEYS, PII_ENCRYPTION_KEY_ID };
const minimal = { PAYLOAD_ENCRYPTION_KEYS: `k1:${key(1)}`, PAYLOAD_ENCRYPTION_KEY_ID: 'k1', ...auth };

const random = () => randomBytes(32).toString('base64');
/** A production environment with every secret set and its own: each test breaks one thing. */
const production: Record<string, string> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://finflow_app:Ua8-app-Kq2@db.internal:5432/finflow',
  DATABASE_MIGRATION_URL: 'postgres://finflow:Ua8-owner-Kq2@db.internal:5432/finflow',
  DATABASE_RELAY_URL: 'postgres://finflow_relay:Ua8-relay-Kq2@db.internal:5432/finflow',
  REDIS_URL: 'rediss://:Ua8-redis-Kq2@redis.internal:6380',
  MONGO_URL: 'mongodb://finflow:Ua8-mongo-Kq2@mongo.internal:27017',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'finflow',
  KAFKA_SASL_PASSWORD: 'Ua8-kafka-Kq2',
  STRIPE_API_KEY: 'sk_live_abc123',
  STRIPE_WEBHOOK_SECRET: 'whsec_endpoint123',
  TEMPORAL_API_KEY: 'Ua8-temporal-Kq2',
  PLATFORM_OPERATORS: `on-call:${'ab'.repeat(32)}`,
  PAYLOAD_ENCRYPTION_KEYS: `2026-11:${random()}`,
  PAYLOAD_ENCRYPTION_KEY_ID: '2026-11',
  PII_ENCRYPTION_KEYS: `2026-11:${random()}`,
  PII_ENCRYPTION_KEY_ID: '2026-11',
  AUTH_JWT_KEYS: `2026-11:${AUTH_JWT_KEYS.slice(AUTH_JWT_KEYS.indexOf(':') + 1)}`,
  AUTH_JWT_ACTIVE_KID: '2026-11',
  AUTH_API_KEY_PEPPER: random(),
  PII_HASH_KEY: random(),
};
/** Only the variables a component is given in production: the non-secret ones, and its own secrets. */
const productionFor = (component: keyof typeof COMPONENT_SECRETS) => {
  const own = new Set<string>(COMPONENT_SECRETS[component]);
  return Object.fromEntries(Object.entries(production).filter(([k]) => own.has(k) || !(SECRET_VARIABLES as readonly string[]).includes(k)));
};

function problemsOf(env: NodeJS.ProcessEnv, load: (env: NodeJS.ProcessEnv) => unknown = loadConfig): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => p.variable);
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('defaults every service to the local stack', () => {
    const cfg = loadConfig(minimal);
    expect(cfg.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(cfg.TEMPORAL_NAMESPACE).toBe('finflow');
    expect(cfg.DATABASE_URL).toMatch(/^postgres:\/\/finflow_app:.*@127\.0\.0\.1:54329\/finflow$/);
    expect(cfg.KAFKA_BROKERS).toEqual(['127.0.0.1:19092']);
    expect(cfg.API_PORT).toBe(3000);
    expect(cfg.PAYLOAD_ENCRYPTION_KEYS.get('k1')).toHaveLength(32);
  });

  it('names every missing secret', () => {
    expect(problemsOf({}).sort()).toEqual([
      'AUTH_API_KEY_PEPPER',
      'AUTH_JWT_ACTIVE_KID',
      'AUTH_JWT_KEYS',
      'PAYLOAD_ENCRYPTION_KEYS',
      'PAYLOAD_ENCRYPTION_KEY_ID',
      'PII_ENCRYPTION_KEYS',
      'PII_ENCRYPTION_KEY_ID',
      'PII_HASH_KEY',
    ]);
  });

  it('refuses a JWT key set whose active key is missing or not Ed25519', () => {
    expect(problemsOf({ ...minimal, AUTH_JWT_ACTIVE_KID: 'nope' })).toEqual(['AUTH_JWT_KEYS']);
    expect(problemsOf({ ...minimal, AUTH_JWT_KEYS: `${AUTH_JWT_ACTIVE_KID}:${key(3)}` })).toEqual(['AUTH_JWT_KEYS']);
  });

  it('refuses a short API key pepper', () => {
    expect(problemsOf({ ...minimal, AUTH_API_KEY_PEPPER: Buffer.alloc(8).toString('base64') })).toEqual(['AUTH_API_KEY_PEPPER']);
  });

  it.each([
    ['API_PORT', '70000'],
    ['API_PORT', 'abc'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['TEMPORAL_TLS', 'maybe'],
    ['KAFKA_TOPIC_PREFIX', 'bad prefix!'],
    ['LOG_LEVEL', 'loud'],
    ['WORKER_TASK_QUEUES', 'platform,nonsense'],
  ])('names %s when it is %p', (variable, value) => {
    expect(problemsOf({ ...minimal, [variable]: value })).toEqual([variable]);
  });

  it('refuses keys that are not 32 bytes, and never echoes key material', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    try {
      loadConfig({ ...auth, PAYLOAD_ENCRYPTION_KEYS: `k1:${short}`, PAYLOAD_ENCRYPTION_KEY_ID: 'k1' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).toContain('PAYLOAD_ENCRYPTION_KEYS');
      expect((err as Error).message).toContain('32 bytes');
      expect((err as Error).message).not.toContain(short);
    }
  });

  it('requires the active key id to be one of the keys', () => {
    expect(problemsOf({ ...auth, PAYLOAD_ENCRYPTION_KEYS: `k1:${key(1)}`, PAYLOAD_ENCRYPTION_KEY_ID: 'k2' })).toEqual(['PAYLOAD_ENCRYPTION_KEY_ID']);
  });

  it('keeps several keys for rotation', () => {
    const cfg = loadConfig({ ...auth, PAYLOAD_ENCRYPTION_KEYS: `old:${key(1)}, new:${key(2)}`, PAYLOAD_ENCRYPTION_KEY_ID: 'new' });
    expect([...cfg.PAYLOAD_ENCRYPTION_KEYS.keys()]).toEqual(['old', 'new']);
  });

  it('encrypts per tenant with no plaintext accepted and old namespace-key payloads still decodable, by default', () => {
    const cfg = loadConfig(minimal);
    expect([cfg.PAYLOAD_ALLOW_UNENCRYPTED, cfg.PAYLOAD_DECODE_NAMESPACE_KEYS, cfg.PLATFORM_OPERATORS]).toEqual([false, true, undefined]);
  });

  it('reads platform operators as names with token hashes, and never echoes a malformed entry', () => {
    const hash = 'ab'.repeat(32);
    expect(loadConfig({ ...minimal, PLATFORM_OPERATORS: `alice:${hash}, on-call:${'cd'.repeat(32)}` }).PLATFORM_OPERATORS!.map((o) => o.name)).toEqual(['alice', 'on-call']);
    for (const bad of ['alice', `alice:${hash.slice(2)}`, `Alice Smith:${hash}`, 'ffo_plaintexttoken']) {
      expect(problemsOf({ ...minimal, PLATFORM_OPERATORS: bad })).toEqual(['PLATFORM_OPERATORS']);
      expect(() => loadConfig({ ...minimal, PLATFORM_OPERATORS: bad })).toThrow(expect.objectContaining({ message: expect.not.stringContaining(bad) }));
    }
  });

  it('refuses a live Stripe key outside production', () => {
    expect(problemsOf({ ...minimal, STRIPE_API_KEY: 'sk_live_abc123' })).toEqual(['STRIPE_API_KEY']);
    expect(loadConfig(production).STRIPE_API_KEY).toBe('sk_live_abc123');
  });

  it('refuses the local webhook signing secret in production with a real Stripe key, and a secret that is not one', () => {
    expect(problemsOf({ ...production, STRIPE_WEBHOOK_SECRET: '' })).toEqual(['STRIPE_WEBHOOK_SECRET']);
    expect(problemsOf({ ...minimal, STRIPE_WEBHOOK_SECRET: 'sk_test_notasecret' })).toEqual(['STRIPE_WEBHOOK_SECRET']);
    expect(loadConfig({ ...minimal, STRIPE_API_KEY: 'sk_test_abc123' }).STRIPE_WEBHOOK_SECRET).toBe(LOCAL_STRIPE_WEBHOOK_SECRET);
  });

  it('warns outside production of a Stripe key without its webhook signing secret, naming no value', () => {
    const warnings = configWarnings(loadConfig({ ...minimal, STRIPE_API_KEY: 'sk_test_abc123' }));
    expect(warnings).toEqual([expect.stringContaining('STRIPE_WEBHOOK_SECRET')]);
    expect(warnings.join('')).not.toContain('sk_test_abc123');
    expect(warnings.join('')).not.toContain(LOCAL_STRIPE_WEBHOOK_SECRET);
    expect(configWarnings(loadConfig({ ...minimal, STRIPE_API_KEY: 'sk_test_abc123', STRIPE_WEBHOOK_SECRET: 'whsec_endpoint123' }))).toEqual([]);
    expect(configWarnings(loadConfig(minimal))).toEqual([]);
  });

  it('wants a TLS certificate and key together', () => {
    expect(problemsOf({ ...minimal, TEMPORAL_TLS_CERT_PATH: '/x.crt' })).toEqual(['TEMPORAL_TLS_KEY_PATH']);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ ...minimal, API_PORT: '' }).API_PORT).toBe(3000);
  });

  it('parses only a section for tools that need a slice', () => {
    expect(loadConfigSection(['DATABASE_MIGRATION_URL'], {})).toEqual({
      DATABASE_MIGRATION_URL: expect.stringMatching(/^postgres:\/\/finflow:/),
    });
  });
});

describe('production refuses default secrets (every process, one check at start-up)', () => {
  it('starts with every secret set and its own', () => {
    expect(loadConfig(production).NODE_ENV).toBe('production');
  });

  it('refuses to start without STRIPE_API_KEY', () => {
    expect(problemsOf({ ...production, STRIPE_API_KEY: '' })).toEqual(['STRIPE_API_KEY']);
    expect(problemsOf({ ...productionFor('worker'), STRIPE_API_KEY: '' }, (env) => loadComponentConfig('worker', env))).toEqual(['STRIPE_API_KEY']);
  });

  it.each([
    ['DATABASE_URL', undefined],
    ['DATABASE_URL', 'postgres://finflow_app:finflow_app@db.internal:5432/finflow'],
    ['DATABASE_URL', 'postgres://finflow_app@db.internal:5432/finflow'],
    ['DATABASE_MIGRATION_URL', undefined],
    ['DATABASE_MIGRATION_URL', 'postgres://finflow:finflow@db.internal:5432/finflow'],
    ['DATABASE_RELAY_URL', undefined],
    ['DATABASE_RELAY_URL', 'postgresql://finflow_relay:finflow_relay@db.internal/finflow'],
    ['REDIS_URL', undefined],
    ['REDIS_URL', 'redis://:password@redis.internal:6379'],
    ['MONGO_URL', undefined],
    ['MONGO_URL', 'mongodb://admin:admin@mongo.internal:27017'],
    ['KAFKA_SASL_PASSWORD', 'changeme'],
    ['STRIPE_WEBHOOK_SECRET', LOCAL_STRIPE_WEBHOOK_SECRET],
    ['PAYLOAD_ENCRYPTION_KEYS', `local-2026-11-25:${random()},2026-11:${random()}`],
    ['PII_ENCRYPTION_KEYS', `2026-11:${key(0)}`],
    ['AUTH_JWT_KEYS', AUTH_JWT_KEYS.replace(/^[^:]+/, 'local-2026-11-25')],
    ['PII_HASH_KEY', key(0)],
    ['AUTH_API_KEY_PEPPER', key(7)],
  ])('refuses %s left at or set to a default (%p)', (variable, value) => {
    const env = { ...production, [variable]: value ?? '' };
    if (variable === 'AUTH_JWT_KEYS') env.AUTH_JWT_ACTIVE_KID = 'local-2026-11-25';
    expect(problemsOf(env)).toEqual([variable]);
  });

  it('lists every problem at once, naming the variables and never a value', () => {
    const env = { ...production, STRIPE_API_KEY: '', DATABASE_URL: 'postgres://finflow_app:finflow_app@db.internal/finflow', REDIS_URL: 'redis://:redis@r.internal', PII_HASH_KEY: key(0) };
    try {
      loadConfig(env);
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['DATABASE_URL', 'PII_HASH_KEY', 'REDIS_URL', 'STRIPE_API_KEY']);
      const message = (err as Error).message;
      for (const value of [env.DATABASE_URL, 'finflow_app@', ':redis@', env.PII_HASH_KEY, ...Object.values(production).filter((v) => v.length > 12)]) {
        expect(message).not.toContain(value);
      }
    }
  });

  it('lists the production problems together with invalid variables', () => {
    expect(problemsOf({ ...production, AUTH_JWT_KEYS: '', STRIPE_API_KEY: '', DATABASE_URL: '' }).sort()).toEqual(['AUTH_JWT_KEYS', 'DATABASE_URL', 'STRIPE_API_KEY']);
  });

  it('allows the local defaults outside production', () => {
    expect(loadConfig(minimal).DATABASE_URL).toMatch(/finflow_app:finflow_app@127\.0\.0\.1/);
  });
});

describe('each component holds only its own secrets', () => {
  it.each(Object.keys(COMPONENT_SECRETS) as (keyof typeof COMPONENT_SECRETS)[])('%s starts in production with only its own secrets', (component) => {
    const cfg = loadComponentConfig(component, productionFor(component)) as Record<string, unknown>;
    const held = SECRET_VARIABLES.filter((v) => v in cfg);
    expect(held.sort()).toEqual([...COMPONENT_SECRETS[component]].sort());
  });

  it('the API never holds the schema owner or relay database URL, and refuses them in production', () => {
    expect(COMPONENT_SECRETS.api).not.toContain('DATABASE_MIGRATION_URL');
    expect(COMPONENT_SECRETS.api).not.toContain('DATABASE_RELAY_URL');
    expect(problemsOf({ ...productionFor('api'), DATABASE_MIGRATION_URL: production.DATABASE_MIGRATION_URL! }, (env) => loadComponentConfig('api', env))).toEqual([
      'DATABASE_MIGRATION_URL',
    ]);
    expect(problemsOf({ ...productionFor('relay'), AUTH_JWT_KEYS: production.AUTH_JWT_KEYS! }, (env) => loadComponentConfig('relay', env))).toEqual(['AUTH_JWT_KEYS']);
  });

  it('checks in production only the secrets a component holds (the API needs no Stripe key, the relay no keys at all)', () => {
    expect(loadComponentConfig('api', { ...productionFor('api') })).not.toHaveProperty('STRIPE_API_KEY');
    expect(loadComponentConfig('relay', productionFor('relay'))).toMatchObject({ DATABASE_RELAY_URL: production.DATABASE_RELAY_URL });
  });

  it('outside production a process may share one environment with the others (npm start)', () => {
    const cfg = loadComponentConfig('relay', minimal) as Record<string, unknown>;
    expect(cfg).not.toHaveProperty('AUTH_JWT_KEYS');
    expect(cfg).not.toHaveProperty('DATABASE_URL');
  });
});
