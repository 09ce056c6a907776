import { generateLocalSecrets } from '../../deploy/local/lib/secrets';
import { ConfigError, configWarnings, loadConfig, loadConfigSection, LOCAL_STRIPE_WEBHOOK_SECRET } from '../../platform/config';

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const { AUTH_JWT_KEYS, AUTH_JWT_ACTIVE_KID, AUTH_API_KEY_PEPPER, PII_HASH_KEY } = generateLocalSecrets();
const auth = { AUTH_JWT_KEYS, AUTH_JWT_ACTIVE_KID, AUTH_API_KEY_PEPPER, PII_HASH_KEY };
const minimal = { PAYLOAD_ENCRYPTION_KEYS: `k1:${key(1)}`, PAYLOAD_ENCRYPTION_KEY_ID: 'k1', ...auth };

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
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
    expect(problemsOf({}).sort()).toEqual(['AUTH_API_KEY_PEPPER', 'AUTH_JWT_ACTIVE_KID', 'AUTH_JWT_KEYS', 'PAYLOAD_ENCRYPTION_KEYS', 'PAYLOAD_ENCRYPTION_KEY_ID', 'PII_HASH_KEY']);
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
    expect(loadConfig({ ...minimal, NODE_ENV: 'production', STRIPE_API_KEY: 'sk_live_abc123', STRIPE_WEBHOOK_SECRET: 'whsec_endpoint123' }).STRIPE_API_KEY).toBe('sk_live_abc123');
  });

  it('refuses the local webhook signing secret in production with a real Stripe key, and a secret that is not one', () => {
    expect(problemsOf({ ...minimal, NODE_ENV: 'production', STRIPE_API_KEY: 'sk_live_abc123' })).toEqual(['STRIPE_WEBHOOK_SECRET']);
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
