/**
 * Readiness probes: one real round trip per dependency, each bounded by a timeout, so `/ready` answers fast and
 * names exactly the dependency that is down.
 */
import type { Connection } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type Redis from 'ioredis';
import type { MongoClient } from 'mongodb';
import type { Pool } from 'pg';

export type DependencyName = 'temporal' | 'postgres' | 'redis' | 'kafka' | 'mongodb';
export type Probe = () => Promise<void>;

export interface ProbeResult {
  status: 'up' | 'down';
  latencyMs: number;
  /** A short, non-sensitive reason: no hosts, credentials or stack traces. */
  reason?: 'timeout' | 'error';
}

export async function runProbes(probes: Record<string, Probe>, timeoutMs: number): Promise<Record<string, ProbeResult>> {
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          probe(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs);
          }),
        ]);
        return [name, { status: 'up', latencyMs: Math.round(performance.now() - t0) }] as const;
      } catch (err) {
        return [name, { status: 'down', latencyMs: Math.round(performance.now() - t0), reason: err instanceof ProbeTimeout ? 'timeout' : 'error' }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

class ProbeTimeout extends Error {}

export const postgresProbe = (pool: Pool): Probe => async () => {
  await pool.query('SELECT 1');
};

export const redisProbe = (redis: Redis): Probe => async () => {
  if ((await redis.ping()) !== 'PONG') throw new Error('unexpected PING answer');
};

export const mongoProbe = (client: MongoClient): Probe => async () => {
  await client.db('admin').command({ ping: 1 });
};

export const temporalProbe =
  (connection: Connection, namespace: string, deadlineMs = 1500): Probe =>
  async () => {
    await connection.withDeadline(Date.now() + deadlineMs, () => connection.workflowService.describeNamespace({ namespace }));
  };

/** A fresh admin connection per probe: a long-lived kafkajs admin can stay wedged after the broker returns. */
export const kafkaProbe = (kafka: Kafka): Probe => async () => {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error('no brokers');
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
};
