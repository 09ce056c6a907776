import { Client } from 'pg';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../../platform/config/local-stack';

/** Drops this run's database; topics and Mongo databases are removed by the tests that create them. */
export default async function globalTeardown(): Promise<void> {
  const database = process.env.FINFLOW_TEST_DATABASE;
  if (!database || process.env.FINFLOW_KEEP_TEST_DB === '1') return;
  const admin = new Client({
    connectionString: `postgres://${LOCAL_DB.owner.user}:${LOCAL_DB.owner.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${LOCAL_DB.database}`,
  });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } catch (err) {
    // Backends of killed test processes can linger a moment; global-setup drops stale test databases later.
    console.warn(`could not drop ${database} yet: ${(err as Error).message}`);
  } finally {
    await admin.end();
  }
}
