/** Builds the API's real dependencies from config, and closes them again. */
import Redis from 'ioredis';
import { logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { JwtKeySet } from '../platform/auth/jwt';
import { SessionStore } from '../platform/auth/sessions';
import type { ApiConfig } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { createKafka } from '../platform/events/kafka';
import { kafkaProbe, mongoProbe, postgresProbe, redisProbe, temporalProbe } from '../platform/health/checks';
import type { Logger } from '../platform/logger';
import { createTemporalClient, temporalConnectionOptions } from '../platform/temporal/client';
import { Connection } from '@temporalio/client';
import type { ApiDeps } from './app';

export function createApiDeps<C extends ApiConfig>(config: C, log: Logger): ApiDeps<C> & { close(): Promise<void> } {
  const db = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX);
  // Commands issued while connecting wait for the connection; while Redis is down they fail after one retry.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  const mongo = new MongoClient(config.MONGO_URL, { serverSelectionTimeoutMS: 2000 });
  // Probe-only client: its failures are reported by /ready, not logged on every probe.
  const kafka = createKafka(config, { retry: { retries: 0 }, logLevel: logLevel.NOTHING });
  const temporal = createTemporalClient(config);
  // Probes get their own connection without the SDK's retry interceptor: a probe answers once, within its
  // deadline, and leaves no retry behind it.
  const temporalForProbes = Connection.lazy({ ...temporalConnectionOptions(config), connectTimeout: 2000, interceptors: [] });
  return {
    config,
    log,
    temporal,
    db,
    redis,
    jwt: JwtKeySet.parse(config.AUTH_JWT_KEYS, config.AUTH_JWT_ACTIVE_KID),
    sessions: new SessionStore(redis, config.REDIS_KEY_PREFIX, config.AUTH_REFRESH_TOKEN_TTL_SECONDS, config.AUTH_SESSION_MAX_AGE_SECONDS),
    probes: {
      temporal: temporalProbe(temporalForProbes, config.TEMPORAL_NAMESPACE),
      postgres: postgresProbe(db),
      redis: redisProbe(redis),
      kafka: kafkaProbe(kafka),
      mongodb: mongoProbe(mongo),
    },
    async close() {
      redis.disconnect();
      await Promise.allSettled([db.end(), mongo.close(), temporal.connection.close(), temporalForProbes.close()]);
    },
  };
}
