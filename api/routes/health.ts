import { z } from 'zod';
import { runProbes, type DependencyName, type Probe } from '../../platform/health/checks';
import { problemTypeUri } from '../errors';
import { route, type AnyRoute } from '../routing';

const probeResult = z.object({ status: z.enum(['up', 'down']), latencyMs: z.number(), reason: z.enum(['timeout', 'error']).optional() });

/**
 * `/health`: the process is up (liveness; no dependency is touched). `/ready`: every dependency answers a real
 * round trip (readiness); 503 names the ones that are down. `/ready` is public, so its answer is kept for `cacheMs`
 * and callers arriving while a round of probes runs share it: however often it is called, the dependencies see at
 * most one round of probes per `cacheMs` (the per-IP rate limit applies on top).
 */
export function healthRoutes(probes: Record<DependencyName, Probe>, timeoutMs = 2000, cacheMs = 1000): AnyRoute[] {
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
      summary: 'Readiness: Temporal, PostgreSQL, Redis, Kafka and MongoDB each answer',
      tag: 'operations',
      access: 'public',
      responses: {
        200: { description: 'Ready', schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), probeResult) }) },
        503: { description: 'Not ready: `down` names the dependencies that did not answer', schema: null },
      },
      async handler(ctx) {
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
