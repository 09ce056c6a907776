import http from 'node:http';

/**
 * A minimal probe endpoint for processes that are not the API (workers, relay): `/health` answers while the
 * process runs, `/ready` while `isReady()` holds. Kubernetes probes it (deploy/k8s).
 */
export function startHealthServer(port: number, isReady: () => boolean): http.Server {
  const server = http.createServer((req, res) => {
    const ok = req.url === '/health' || (req.url === '/ready' && isReady());
    const known = req.url === '/health' || req.url === '/ready';
    res.writeHead(ok ? 200 : known ? 503 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: ok ? 'ok' : known ? 'unavailable' : 'not found' }));
  });
  server.listen(port, '0.0.0.0');
  return server;
}
