import { z } from 'zod';
import { runProbes, type DependencyName, type Probe } from '../../platform/health/checks';
import { DomainError, problemTypeUri } from '../errors';
import { route, type AnyRoute } from '../routing';

const probeResult = z.object({ status: z.enum(['up', 'down']), latencyMs: z.number(), reason: z.enum(['timeout', 'error']).optional() });

/** Calls per client address: a burst, refilled at a steady rate (a kubelet probing every second stays well inside). */
export interface ReadyLimit {
  burst: number;
  perSecond: number;
}

/**
 * Token buckets in this process, not in Redis: /ready must answer (and name Redis as down) when Redis is. Buckets
 * refilled to the brim are dropped when many addresses have called, so the map stays small.
 */
function readyLimiter({ burst, perSecond }: ReadyLimit) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (address: string): number | undefined => {
    const now = Date.now();
    const level = (b: { tokens: number; at: number }) => Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    if (buckets.size > 10_000) for (const [a, b] of buckets) if (level(b) >= burst) buckets.delete(a);
    const bucket = buckets.get(address);
    const tokens = bucket ? level(bucket) : burst;
    if (tokens < 1) return Math.ceil((1 - tokens) / perSecond);
    buckets.set(address, { tokens: tokens - 1, at: now });
    return undefined;
  };
}

/**
 * `/health`: the process is up (liveness; no dependency is touched). `/ready`: every dependency answers a real
 * round trip (readiness); 503 names the ones that are down. `/ready` is public, so its answer is kept for `cacheMs`
 * and callers arriving while a round of probes runs share it: however often it is called, the dependencies see at
 * most one round of probes per `cacheMs`. It is exempt from the Redis-backed per-IP limit (it must report Redis
 * down), so it has its own, in process, per client address.
 */
export function healthRoutes(probes: Record<DependencyName, Probe>, timeoutMs = 2000, cacheMs = 1000, limit: ReadyLimit = { burst: 30, perSecond: 2 }): AnyRoute[] {
  const overLimit = readyLimiter(limit);
  let last: { at: number; result: Promise<Awaited<ReturnType<typeof runProbes>>> } | undefined;
  const probeOnce = () => {
    const now = Date.now();
    if (!last || now - last.at >= cacheMs) last = { at: now, result: runProbes(probes, timeoutMs) };
    return last.result;
  };
  return [
    route({
      method: 'get',
      path: '/health',
      summary: 'Liveness: the process is up',
      tag: 'operations',
      access: 'public',
      responses: { 200: { description: 'Up', schema: z.object({ status: z.literal('ok') }) } },
      async handler(ctx) {
        ctx.body = { status: 'ok' };
      },
    }),
    route({
      method: 'get',
      path: '/ready',
      summary: `Readiness: Temporal, PostgreSQL, Redis, Kafka and MongoDB each answer (answers shared for ${cacheMs} ms; limited per client address)`,
      tag: 'operations',
      access: 'public',
      responses: {
        200: { description: 'Ready', schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), probeResult) }) },
        503: { description: 'Not ready: `down` names the dependencies that did not answer', schema: null },
      },
      async handler(ctx) {
        const retryAfterSeconds = overLimit(ctx.ip);
        if (retryAfterSeconds !== undefined) {
          ctx.set('Retry-After', String(retryAfterSeconds));
          throw new DomainError('rate-limited', `More than ${limit.burst} readiness checks at once from this address`, { retryAfterSeconds });
        }
        const checks = await probeOnce();
        const down = Object.entries(checks)
          .filter(([, r]) => r.status === 'down')
          .map(([name]) => name);
        if (down.length === 0) {
          ctx.body = { status: 'ready', checks };
          return;
        }
        ctx.status = 503;
        ctx.type = 'application/problem+json';
        ctx.body = { type: problemTypeUri('not-ready'), title: 'Not ready', status: 503, detail: `Down: ${down.join(', ')}`, down, checks, requestId: ctx.state.requestId };
      },
    }),
  ];
}
