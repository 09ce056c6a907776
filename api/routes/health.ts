import Router from '@koa/router';
import { runProbes, type DependencyName, type Probe } from '../../platform/health/checks';
import { problemTypeUri } from '../errors';

/**
 * `/health`: the process is up (liveness; no dependency is touched). `/ready`: every dependency answers a real
 * round trip (readiness); 503 names the ones that are down.
 */
export function healthRoutes(probes: Record<DependencyName, Probe>, timeoutMs = 2000): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    const checks = await runProbes(probes, timeoutMs);
    const down = Object.entries(checks)
      .filter(([, r]) => r.status === 'down')
      .map(([name]) => name);
    ctx.set('Cache-Control', 'no-store');
    if (down.length === 0) {
      ctx.body = { status: 'ready', checks };
      return;
    }
    ctx.status = 503;
    ctx.type = 'application/problem+json';
    ctx.body = {
      type: problemTypeUri('not-ready'),
      title: 'Not ready',
      status: 503,
      detail: `Down: ${down.join(', ')}`,
      down,
      checks,
      requestId: ctx.state.requestId,
    };
  });
  return router;
}
