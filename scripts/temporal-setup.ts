/** `npm run temporal:setup`: registers FinFlow's namespace and search attributes on TEMPORAL_ADDRESS (idempotent). */
import { Connection } from '@temporalio/client';
import { loadConfigSection, orExit } from '../platform/config';
import { temporalConnectionOptions } from '../platform/temporal/client';
import { ensureNamespace } from '../temporal-config/setup';

async function main() {
  const cfg = orExit(() =>
    loadConfigSection([
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_TLS',
      'TEMPORAL_TLS_CERT_PATH',
      'TEMPORAL_TLS_KEY_PATH',
      'TEMPORAL_TLS_CA_PATH',
      'TEMPORAL_TLS_SERVER_NAME',
      'TEMPORAL_API_KEY',
    ]),
  );
  const connection = await Connection.connect(temporalConnectionOptions(cfg));
  try {
    const done = await ensureNamespace(connection, cfg.TEMPORAL_NAMESPACE);
    console.log(done.length ? `[temporal] registered ${done.join(', ')}` : `[temporal] ${cfg.TEMPORAL_NAMESPACE} is ready`);
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(`[temporal] setup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
