/** stripe-mock: Stripe's OpenAPI-driven API server, built from its Go module, as the local Stripe API. */
import path from 'node:path';
import { LOCAL_STACK_PORTS, LOCAL_STACK_VERSIONS } from '../../../platform/config/local-stack';
import { goInstall, logFile, pidFile, type Component, type StackContext } from '../lib/component';
import { StackError, startDaemon, withTimeout } from '../lib/process';

const NAME = 'stripe-mock';
const port = LOCAL_STACK_PORTS.stripeMock;
const dir = (ctx: StackContext) => path.join(ctx.cacheDir, 'stripe-mock', LOCAL_STACK_VERSIONS.stripeMock);

export const stripeMock: Component = {
  name: NAME,
  port,
  endpoint: `http://127.0.0.1:${port}`,
  startTimeoutSeconds: 30,

  async install(ctx, say) {
    await goInstall(ctx, NAME, `github.com/stripe/stripe-mock@${LOCAL_STACK_VERSIONS.stripeMock}`, dir(ctx), say, '~1 min');
  },

  async start(ctx) {
    startDaemon(NAME, {
      cmd: path.join(dir(ctx), 'stripe-mock'),
      args: ['-http-addr', `127.0.0.1:${port}`, '-https-addr', `127.0.0.1:${LOCAL_STACK_PORTS.stripeMockHttps}`],
      logFile: logFile(ctx, NAME),
      pidFile: pidFile(ctx, NAME),
    });
  },

  async health() {
    // A real API call: list customers with a test key, and check the answer is a Stripe list object.
    const res = await withTimeout(
      3000,
      'stripe-mock',
      fetch(`http://127.0.0.1:${port}/v1/customers?limit=1`, { headers: { Authorization: 'Bearer sk_test_123' } }),
    );
    const body = (await res.json().catch(() => ({}))) as { object?: string };
    if (res.status !== 200 || body.object !== 'list') {
      throw new StackError(NAME, 'health check', `GET /v1/customers answered ${res.status} ${JSON.stringify(body).slice(0, 120)}`);
    }
  },
};
