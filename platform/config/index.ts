/**
 * FinFlow's configuration: the environment, parsed once at start-up with a schema. A bad or missing variable stops
 * the process with a message naming it. Every default points at the local stack (deploy/local), so a fresh clone
 * needs no configuration; `.env.example` documents each variable.
 */
import { z } from 'zod';
import { JwtKeySet } from '../auth/jwt';
import { COMPONENT_SECRETS, SECRET_VARIABLES, type Component, type SecretVariable } from './components';
import { LOCAL_DB, LOCAL_STACK_PORTS as P } from './local-stack';

export { COMPONENT_SECRETS, COMPONENTS, SECRET_VARIABLES, type Component, type SecretVariable } from './components';

/** Signs the webhooks of local development and tests (the Stripe double); never a real endpoint's secret. */
export const LOCAL_STRIPE_WEBHOOK_SECRET = 'whsec_finflowLocalDevelopmentOnly';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(1).max(65535);
const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1));
const pgUrl = (role: { user: string; password: string }) =>
  z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default(`postgres://${role.user}:${role.password}@127.0.0.1:${P.postgres}/${LOCAL_DB.database}`);

/** `kid:base64key,kid2:base64key`: every key 32 bytes (AES-256). Old keys stay listed so old data still decrypts. */
const aesKeys = z.string().transform((spec, ctx) => {
  const keys = new Map<string, Buffer>();
  for (const entry of spec.split(',').map((e) => e.trim()).filter(Boolean)) {
    const i = entry.indexOf(':');
    const id = entry.slice(0, i);
    const key = Buffer.from(entry.slice(i + 1), 'base64');
    if (i <= 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      ctx.addIssue({ code: 'custom', message: 'each entry must be <key-id>:<base64 key>, key id of [A-Za-z0-9._-]' });
      return z.NEVER;
    }
    if (key.length !== 32) {
      ctx.addIssue({ code: 'custom', message: `key ${id} must decode to 32 bytes (AES-256), got ${key.length}` });
      return z.NEVER;
    }
    keys.set(id, key);
  }
  if (keys.size === 0) {
    ctx.addIssue({ code: 'custom', message: 'at least one key is required' });
    return z.NEVER;
  }
  return keys;
});

/** `name:<64 hex digits>` entries: the SHA-256 of each operator's `ffo_` token, never the token itself. */
const operatorTokens = z.string().transform((spec, ctx) => {
  const operators: { name: string; tokenSha256: Buffer }[] = [];
  for (const entry of spec.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([a-z0-9._-]{1,64}):([0-9a-f]{64})$/.exec(entry);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: 'each entry must be <name>:<hex SHA-256 of the token>, name of [a-z0-9._-]' });
      return z.NEVER;
    }
    operators.push({ name: m[1]!, tokenSha256: Buffer.from(m[2]!, 'hex') });
  }
  return operators;
});

const fields = z.object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    API_HOST: z.string().min(1).default('127.0.0.1'),
    API_PORT: port.default(3000),
    /** Worker and relay processes answer /health and /ready here for Kubernetes probes; unset: no listener. */
    HEALTH_PORT: port.optional(),

    DATABASE_URL: pgUrl(LOCAL_DB.app),
    DATABASE_MIGRATION_URL: pgUrl(LOCAL_DB.owner),
    DATABASE_RELAY_URL: pgUrl(LOCAL_DB.relay),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),

    /** Prefix of every Redis key FinFlow writes (sessions, rate limits): lets environments share a Redis. */
    REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:._-]*$/).default('finflow:'),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').default(`redis://127.0.0.1:${P.redis}`),

    KAFKA_BROKERS: csv.default([`127.0.0.1:${P.kafka}`]),
    KAFKA_CLIENT_ID: z.string().min(1).default('finflow'),
    KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'only [A-Za-z0-9._-]').default(''),
    KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(5).default(1),
    KAFKA_SSL: bool.default(false),
    KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),

    /** The outbox relay: longest wait between polls of an idle outbox (the worst commit-to-publish delay). */
    OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(5).max(10_000).default(50),
    /** How many times the broker may refuse an outbox row on its own (too large, invalid) before it is dead-lettered. */
    OUTBOX_DEAD_LETTER_AFTER: z.coerce.number().int().min(1).max(1000).default(5),
    /** How long the relay keeps published outbox rows before purging them (dead-lettered rows are kept). */
    OUTBOX_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 366).default(168),

    MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URL').default(`mongodb://127.0.0.1:${P.mongodb}`),
    MONGO_DATABASE: z.string().min(1).default('finflow'),

    TEMPORAL_ADDRESS: z.string().min(1).default(`127.0.0.1:${P.temporal}`),
    TEMPORAL_NAMESPACE: z.string().min(1).default('finflow'),
    TEMPORAL_TLS: bool.default(false),
    TEMPORAL_TLS_CERT_PATH: z.string().optional(),
    TEMPORAL_TLS_KEY_PATH: z.string().optional(),
    TEMPORAL_TLS_CA_PATH: z.string().optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
    TEMPORAL_API_KEY: z.string().optional(),
    /** Prepended to every task queue name: lets a test run or a developer own private queues on a shared server. */
    TEMPORAL_TASK_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'only [A-Za-z0-9._-]').default(''),

    /** Which task queues this worker process serves (all by default; production runs one deployment per queue). */
    WORKER_TASK_QUEUES: csv.pipe(z.array(z.enum(['platform', 'payments', 'credit', 'accounting', 'invoices']))).default(['platform', 'payments', 'credit', 'accounting', 'invoices']),
    /**
     * The build this worker runs, stamped on every workflow task it completes (README: Shipping a workflow change).
     * Default: the package version and the commit of a git checkout (`0.1.0+1d5b836a1b2c`), else `0.1.0+unknown`.
     */
    WORKER_BUILD_ID: z.string().regex(/^[A-Za-z0-9._+-]{1,128}$/, 'only [A-Za-z0-9._+-], at most 128 characters').optional(),
    /** Worker Versioning: the server routes workflow tasks to the version made current per rollout (needs WORKER_BUILD_ID). */
    WORKER_VERSIONING: bool.default(false),

    /** Risk and AML screening: amounts in minor units of the payment's currency. */
    RISK_MAX_AMOUNT_MINOR: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(100_000_000),
    RISK_REVIEW_AMOUNT_MINOR: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(1_000_000),
    RISK_VELOCITY_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(20),
    /** Customer ids refused outright (sanctions / deny list), comma-separated. */
    RISK_DENY_CUSTOMERS: csv.optional(),
    PAYMENT_REVIEW_TIMEOUT_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
    PAYMENT_AUTHORIZATION_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(7 * 24 * 3600),
    /** How long a payment waits for the customer to authenticate (3-D Secure) before it expires and the intent is cancelled. */
    PAYMENT_CUSTOMER_ACTION_TIMEOUT_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(3600),
    /** The compliance consumer flags a customer with this many failed payments within the window. */
    COMPLIANCE_FAILURE_THRESHOLD: z.coerce.number().int().min(1).max(1000).default(3),
    COMPLIANCE_WINDOW_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(24),
    /** Where the invoice-reminder consumer writes its messages, one JSON line each (local file sink); unset: the log. */
    INVOICE_REMINDER_FILE: z.string().min(1).optional(),
    /** How long POST /api/payments waits for the saga's decision before answering 202. */
    PAYMENT_SYNC_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(3000),
    /**
     * How long a request that changes a running workflow (capture, cancel, review, a credit decision) waits for a
     * worker to take and apply the change: 202 if a worker accepted it but it has not finished, 503 + Retry-After
     * if no worker took it (workers down or being redeployed).
     */
    WORKFLOW_UPDATE_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
    /**
     * A pending payment's saga is started (by a repeated request, or the reconciler) only this long after the payment
     * was created: well inside the namespace's retention (7 days), so Temporal still remembers any saga that ran.
     */
    PAYMENT_SAGA_START_WINDOW_HOURS: z.coerce.number().int().min(1).max(6 * 24).default(24),
    /** The saga reconciler (a Temporal Schedule) runs this often, and starts sagas of payments pending this long with none. */
    PAYMENT_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
    PAYMENT_RECONCILE_GRACE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),

    /** The credit scorecard (ONNX, with contributions.json beside it); default: the committed models/credit/artifacts. */
    CREDIT_MODEL_PATH: z.string().min(1).optional(),
    /** Decision policy on the model's probability of default: approve below, decline at or above, review between. */
    CREDIT_APPROVE_BELOW_PD: z.coerce.number().gt(0).lt(1).default(0.15),
    CREDIT_DECLINE_AT_OR_ABOVE_PD: z.coerce.number().gt(0).lte(1).default(0.5),
    /** An underwriter's time to decide before the review is escalated, then before the application is declined. */
    CREDIT_REVIEW_TIMEOUT_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(48 * 3600),
    CREDIT_ESCALATION_TIMEOUT_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
    /** How long POST /api/credit/applications waits for an automatic decision before answering 202. */
    CREDIT_SYNC_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(3000),
    /** Key of the keyed hash of personal identifiers (national ids for the KYC deny list): base64, at least 32 bytes. */
    PII_HASH_KEY: z
      .string()
      .transform((v) => Buffer.from(v, 'base64'))
      .refine((b) => b.length >= 32, 'must decode to at least 32 bytes'),

    /**
     * Keys of applicants' personal data at rest (name, date of birth, address: AES-256-GCM per column, the key id in
     * each value, platform/pii.ts). Rotation: add a key and make it active; keep old ones until re-encrypted.
     */
    PII_ENCRYPTION_KEYS: aesKeys,
    PII_ENCRYPTION_KEY_ID: z.string().min(1),
    /** `pii:erase --retention`: applicants' personal data is erased this many days after their application was decided. */
    PII_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(365),

    /** Ed25519 signing keys for access tokens: `kid:<base64 PKCS#8 DER>`, comma-separated; keep retired keys until their tokens expire. */
    AUTH_JWT_KEYS: z.string().min(1),
    AUTH_JWT_ACTIVE_KID: z.string().min(1),
    AUTH_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(900),
    AUTH_REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(300).max(90 * 24 * 3600).default(30 * 24 * 3600),
    /** A session's absolute lifetime from its login: refreshing never extends it past this. */
    AUTH_SESSION_MAX_AGE_SECONDS: z.coerce.number().int().min(300).max(365 * 24 * 3600).default(30 * 24 * 3600),
    /** How long a person's and an organisation's status (active, disabled, suspended) is cached for the per-request check. */
    AUTH_STATUS_CACHE_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
    AUTH_INVITATION_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(72),
    /** Server-side secret mixed into API key hashes (base64, at least 32 bytes). */
    AUTH_API_KEY_PEPPER: z
      .string()
      .transform((v) => Buffer.from(v, 'base64'))
      .refine((b) => b.length >= 32, 'must decode to at least 32 bytes'),

    RATE_LIMIT_IP_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(100),
    RATE_LIMIT_TENANT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(1000),
    /** Smoke probe starts per minute, platform-wide (operators only; each start is a workflow). */
    SMOKE_STARTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(10),
    /**
     * How many proxies in front of the API append to X-Forwarded-For (a load balancer: 1; a CDN before it: 2). The
     * client address is the one the outermost of them saw; whatever the client wrote before it is ignored. 0 (the
     * default): the socket's address, the header is not read. Only right if the API cannot be reached around them.
     */
    TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).optional(),
    /** Former switch: true means TRUST_PROXY_HOPS=1 when that is unset. */
    TRUST_PROXY: bool.default(false),
    /** Organisations registered per client address per hour. */
    RATE_LIMIT_REGISTRATIONS_PER_HOUR: z.coerce.number().int().min(1).max(1_000_000).default(10),
    /** Login attempts in a row per account; the last of them and each after it start a doubling wait (1 s, 2 s, 4 s...). */
    AUTH_LOGIN_FREE_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    AUTH_LOGIN_BACKOFF_SECONDS: z.coerce.number().int().min(1).max(3600).default(1),
    AUTH_LOGIN_MAX_BACKOFF_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(900),
    /** Origins allowed to call the API from a browser; CORS is off when unset. */
    CORS_ORIGINS: csv.optional(),
    API_BODY_LIMIT_KB: z.coerce.number().int().min(1).max(10_240).default(100),

    /** Master keys by version; each tenant's payload key is derived from one (platform/temporal/codec.ts). */
    PAYLOAD_ENCRYPTION_KEYS: aesKeys,
    PAYLOAD_ENCRYPTION_KEY_ID: z.string().min(1),
    /** Decode payloads encrypted under a bare master key, as before tenant keys (the migration window); never used to encode. */
    PAYLOAD_DECODE_NAMESPACE_KEYS: bool.default(true),
    /** Let workers accept unencrypted payloads (a migration window only): refused by default. */
    PAYLOAD_ALLOW_UNENCRYPTED: bool.default(false),
    /** Platform operators (not tenant users): `name:<hex SHA-256 of the operator's ffo_ token>`, comma-separated. */
    PLATFORM_OPERATORS: operatorTokens.optional(),

    /** Set: the Stripe adapter talks to Stripe (test mode keys only outside production). Unset: local stripe-mock. */
    STRIPE_API_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, 'must be a Stripe secret or restricted key').optional(),
    STRIPE_MOCK_URL: z.string().url().default(`http://127.0.0.1:${P.stripeMock}`),
    /**
     * The signing secret of the Stripe webhook endpoint (POST /api/webhooks/stripe): the dashboard's endpoint, or
     * `stripe listen`. The default is for local development only and is refused in production with a real key.
     */
    STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_[A-Za-z0-9_]{8,200}$/, 'must be a Stripe webhook signing secret (whsec_...)').default(LOCAL_STRIPE_WEBHOOK_SECRET),
});

type Fields = z.output<typeof fields>;

/** Checks across variables, on those a process loads (`held`). */
const crossChecks = (held: ReadonlySet<string>) => (c: Partial<Fields>, ctx: z.RefinementCtx) => {
    const has = (k: keyof Fields): boolean => held.has(k) && c[k] !== undefined;
    for (const [keys, id] of [['PAYLOAD_ENCRYPTION_KEYS', 'PAYLOAD_ENCRYPTION_KEY_ID'], ['PII_ENCRYPTION_KEYS', 'PII_ENCRYPTION_KEY_ID']] as const) {
      if (has(keys) && has(id) && !c[keys]!.has(c[id]!)) {
        ctx.addIssue({ code: 'custom', path: [id], message: `must name one of the keys in ${keys}` });
      }
    }
    if (has('AUTH_JWT_KEYS')) {
      try {
        JwtKeySet.parse(c.AUTH_JWT_KEYS!, c.AUTH_JWT_ACTIVE_KID ?? '');
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_JWT_KEYS'], message: `not a usable Ed25519 key set with AUTH_JWT_ACTIVE_KID (${(err as Error).message})` });
      }
    }
    if (Boolean(c.TEMPORAL_TLS_CERT_PATH) !== Boolean(c.TEMPORAL_TLS_KEY_PATH)) {
      ctx.addIssue({ code: 'custom', path: ['TEMPORAL_TLS_KEY_PATH'], message: 'TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together' });
    }
    if (c.KAFKA_SASL_MECHANISM && held.has('KAFKA_SASL_USERNAME') && !(c.KAFKA_SASL_USERNAME && c.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_SASL_USERNAME'], message: 'KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD' });
    }
    if (c.WORKER_VERSIONING && !c.WORKER_BUILD_ID) {
      ctx.addIssue({ code: 'custom', path: ['WORKER_BUILD_ID'], message: 'WORKER_VERSIONING needs the build named explicitly (the default is not unique per build)' });
    }
    if (c.CREDIT_APPROVE_BELOW_PD !== undefined && c.CREDIT_DECLINE_AT_OR_ABOVE_PD !== undefined && c.CREDIT_APPROVE_BELOW_PD > c.CREDIT_DECLINE_AT_OR_ABOVE_PD) {
      ctx.addIssue({ code: 'custom', path: ['CREDIT_APPROVE_BELOW_PD'], message: 'must not be above CREDIT_DECLINE_AT_OR_ABOVE_PD' });
    }
    if (c.STRIPE_API_KEY?.includes('_live_') && c.NODE_ENV !== 'production') {
      ctx.addIssue({ code: 'custom', path: ['STRIPE_API_KEY'], message: 'a live Stripe key is refused outside NODE_ENV=production' });
    }
};

type FieldName = keyof typeof fields.shape;
const ALL_FIELDS = Object.keys(fields.shape) as FieldName[];
const schema = fields.superRefine(crossChecks(new Set(ALL_FIELDS)));

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment; throws ConfigError naming every bad variable (never its value: it may be a secret). Every
 * variable, every secret: for tests and tools; processes load their component's slice (loadComponentConfig).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseOrThrow(schema, env, new Set(ALL_FIELDS));
}

/** Parses only the named variables: for tools (migrations, the stack) that need a slice of the configuration. */
export function loadConfigSection<K extends FieldName>(keys: readonly K[], env: NodeJS.ProcessEnv = process.env): Pick<Config, K> {
  const held = new Set<string>(keys);
  const mask = Object.fromEntries(keys.map((k) => [k, true]));
  // zod cannot type a pick over a generic key list; the keys are checked against the schema above.
  return parseOrThrow(fields.pick(mask as never).superRefine(crossChecks(held) as never), env, held) as unknown as Pick<Config, K>;
}

/** Non-secret variables that only mean something with a secret: a key set's active key id. */
const COMPANIONS: Partial<Record<SecretVariable, FieldName[]>> = {
  PAYLOAD_ENCRYPTION_KEYS: ['PAYLOAD_ENCRYPTION_KEY_ID'],
  PII_ENCRYPTION_KEYS: ['PII_ENCRYPTION_KEY_ID'],
  AUTH_JWT_KEYS: ['AUTH_JWT_ACTIVE_KID'],
};
const SECRET_SET = new Set<string>(SECRET_VARIABLES);
const COMPANION_SET = new Set<string>(Object.values(COMPANIONS).flat());
const PUBLIC_FIELDS = ALL_FIELDS.filter((k) => !SECRET_SET.has(k) && !COMPANION_SET.has(k));
type PublicField = Exclude<FieldName, SecretVariable | 'PAYLOAD_ENCRYPTION_KEY_ID' | 'PII_ENCRYPTION_KEY_ID' | 'AUTH_JWT_ACTIVE_KID'>;
type CompanionOf<S> = S extends 'PAYLOAD_ENCRYPTION_KEYS' ? 'PAYLOAD_ENCRYPTION_KEY_ID' : S extends 'PII_ENCRYPTION_KEYS' ? 'PII_ENCRYPTION_KEY_ID' : S extends 'AUTH_JWT_KEYS' ? 'AUTH_JWT_ACTIVE_KID' : never;
type SecretsOf<C extends Component> = (typeof COMPONENT_SECRETS)[C][number];

/** What one component's process sees: every non-secret setting, and only its own secrets. */
export type ComponentConfig<C extends Component> = Pick<Config, PublicField | SecretsOf<C> | CompanionOf<SecretsOf<C>>>;
export type ApiConfig = ComponentConfig<'api'>;
export type WorkerConfig = ComponentConfig<'worker'>;

/** The variables a component's process loads. */
export function componentVariables(component: Component): FieldName[] {
  const secrets: readonly SecretVariable[] = COMPONENT_SECRETS[component];
  return [...PUBLIC_FIELDS, ...secrets, ...secrets.flatMap((s) => COMPANIONS[s] ?? [])];
}

/**
 * A process's configuration: the non-secret settings and its component's secrets only. In production it also
 * refuses a secret handed to it that it does not use (deploy/k8s gives each component only its own).
 */
export function loadComponentConfig<C extends Component>(component: C, env: NodeJS.ProcessEnv = process.env): ComponentConfig<C> {
  const keys = componentVariables(component);
  const held = new Set<string>(keys);
  const unused = env.NODE_ENV === 'production' ? SECRET_VARIABLES.filter((s) => !held.has(s) && isSet(env[s])) : [];
  const extra = unused.map((variable) => ({ variable, message: `is set, but the ${component} does not use it: remove it from this process's environment (each component holds only its own secrets)` }));
  const mask = Object.fromEntries(keys.map((k) => [k, true]));
  return parseOrThrow(fields.pick(mask as never).superRefine(crossChecks(held) as never), env, held, extra) as unknown as ComponentConfig<C>;
}

export function loadComponentConfigOrExit<C extends Component>(component: C, env: NodeJS.ProcessEnv = process.env): ComponentConfig<C> {
  return orExit(() => loadComponentConfig(component, env));
}

const isSet = (v: string | undefined) => v !== undefined && v !== '';

function parseOrThrow<T extends z.ZodType>(s: T, env: NodeJS.ProcessEnv, held: ReadonlySet<string>, extra: ConfigProblem[] = []): z.output<T> {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => isSet(v)));
  const parsed = s.safeParse(present);
  const problems: ConfigProblem[] = [...extra];
  if (!parsed.success) {
    problems.push(
      ...parsed.error.issues.map((i) => ({
        variable: String(i.path[0] ?? '(config)'),
        message: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message,
      })),
    );
  }
  if (present.NODE_ENV === 'production') {
    // Everything at once: with some variables invalid, the others are still checked (each parsed on its own).
    const values = parsed.success ? (parsed.data as Partial<Fields>) : parseEach(present, held);
    const named = new Set(problems.map((p) => p.variable));
    problems.push(...productionProblems(values, env, held).filter((p) => !named.has(p.variable)));
  }
  if (problems.length) throw new ConfigError(problems);
  return (parsed as { data: z.output<T> }).data;
}

/** The held variables that parse on their own (for the production check of a configuration with errors). */
function parseEach(present: Record<string, string | undefined>, held: ReadonlySet<string>): Partial<Fields> {
  const out: Record<string, unknown> = {};
  for (const k of ALL_FIELDS) {
    if (!held.has(k)) continue;
    const r = fields.shape[k].safeParse(present[k]);
    if (r.success) out[k] = r.data;
  }
  return out as Partial<Fields>;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

/** Passwords the local stack and common samples use: never a production credential. */
const DEFAULT_PASSWORDS = new Set<string>([
  ...Object.values(LOCAL_DB).flatMap((r) => (typeof r === 'object' ? [r.password] : [])),
  'password',
  'postgres',
  'changeme',
  'secret',
  'admin',
  'redis',
  'kafka',
  'mongo',
  'example',
]);

/** The local stack's generated key ids (deploy/local/lib/secrets.ts): a copied `.stack/local.env`. */
const LOCAL_KEY_ID = /^local-/;

const urlPassword = (url: string): string | undefined => {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
};

/** A key of one repeated byte (all zeros, say) is a placeholder, not a key. */
const placeholderKey = (key: Buffer) => key.every((b) => b === key[0]);

/**
 * What production refuses, on the secrets a process holds (names only, never a value): a secret left at its local
 * default (a database, Redis or Mongo URL pointing at the local stack, the local webhook signing secret); a default
 * password in a database, Redis, Mongo or Kafka credential; the local stack's generated keys or placeholder keys;
 * and no Stripe key where one is used (payments would go to the local stripe-mock).
 */
export function productionProblems(c: Partial<Fields>, env: NodeJS.ProcessEnv, held: ReadonlySet<string>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const refuse = (variable: string, message: string) => problems.push({ variable, message });
  const holds = (v: SecretVariable) => held.has(v);
  for (const v of ['DATABASE_URL', 'DATABASE_MIGRATION_URL', 'DATABASE_RELAY_URL', 'REDIS_URL', 'MONGO_URL'] as const) {
    if (!holds(v)) continue;
    if (!isSet(env[v])) {
      refuse(v, "must be set in production (the default is the local stack's)");
      continue;
    }
    const password = urlPassword(env[v]!);
    if (v.startsWith('DATABASE_') && !password) refuse(v, 'has no password');
    else if (password && DEFAULT_PASSWORDS.has(password)) refuse(v, 'uses a default password');
  }
  if (holds('KAFKA_SASL_PASSWORD') && c.KAFKA_SASL_PASSWORD && DEFAULT_PASSWORDS.has(c.KAFKA_SASL_PASSWORD)) refuse('KAFKA_SASL_PASSWORD', 'is a default password');
  if (holds('STRIPE_API_KEY') && !c.STRIPE_API_KEY) refuse('STRIPE_API_KEY', 'is required in production (unset, payments would go to the local stripe-mock)');
  if (holds('STRIPE_WEBHOOK_SECRET') && c.STRIPE_WEBHOOK_SECRET === LOCAL_STRIPE_WEBHOOK_SECRET) {
    refuse('STRIPE_WEBHOOK_SECRET', "set the webhook endpoint's signing secret: the local default is refused in production");
  }
  for (const v of ['PAYLOAD_ENCRYPTION_KEYS', 'PII_ENCRYPTION_KEYS'] as const) {
    const keys = holds(v) ? c[v] : undefined;
    if (keys && [...keys.keys()].some((id) => LOCAL_KEY_ID.test(id))) refuse(v, "holds a local stack key (key id local-...): generate this environment's own");
    else if (keys && [...keys.values()].some(placeholderKey)) refuse(v, 'holds a placeholder key (one repeated byte)');
  }
  if (holds('AUTH_JWT_KEYS') && c.AUTH_JWT_KEYS && c.AUTH_JWT_KEYS.split(',').some((e) => LOCAL_KEY_ID.test(e.trim()))) {
    refuse('AUTH_JWT_KEYS', "holds a local stack key (key id local-...): generate this environment's own");
  }
  for (const v of ['PII_HASH_KEY', 'AUTH_API_KEY_PEPPER'] as const) {
    if (holds(v) && c[v] && placeholderKey(c[v])) refuse(v, 'is a placeholder key (one repeated byte)');
  }
  return problems;
}

/**
 * What a valid configuration may still get wrong, for the process to log at start-up (never a value: names only).
 * Production refuses these outright (see the schema); elsewhere they are allowed, but the user should hear of them.
 */
export function configWarnings(c: { STRIPE_API_KEY?: string; STRIPE_WEBHOOK_SECRET?: string }): string[] {
  const warnings: string[] = [];
  if (c.STRIPE_API_KEY && (c.STRIPE_WEBHOOK_SECRET ?? LOCAL_STRIPE_WEBHOOK_SECRET) === LOCAL_STRIPE_WEBHOOK_SECRET) {
    warnings.push(
      "STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not (it is the local default): every webhook Stripe sends will be refused (400, bad signature); set it to the endpoint's signing secret (`stripe listen` prints one)",
    );
  }
  return warnings;
}

/** For process entry points: parse, or print the problems and exit non-zero. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  return orExit(() => loadConfig(env));
}

export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
