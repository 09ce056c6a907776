/**
 * A second API on a port already held (another clone's API, a stray process): the process exits with one line
 * naming API_PORT and the port, not a stack trace of EADDRINUSE.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '../..');
const run = promisify(execFile);
let holder: net.Server;
let port: number;

beforeAll(async () => {
  holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  port = (holder.address() as net.AddressInfo).port;
});
afterAll(() => new Promise((r) => holder.close(r)));

it('exits with one line naming API_PORT when the port is taken', async () => {
  const outcome = await run(process.execPath, ['--import', 'tsx', path.join(root, 'api/server.ts')], {
    cwd: root,
    env: { ...process.env, API_HOST: '127.0.0.1', API_PORT: String(port), LOG_LEVEL: 'silent' },
    timeout: 120_000,
  }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
  expect(outcome.code).not.toBe(0);
  const lines = outcome.stderr.trim().split('\n');
  expect(lines).toEqual([`api not started: 127.0.0.1:${port} is already in use; set API_PORT to a free port (README: Configuration)`]);
}, 150_000);
