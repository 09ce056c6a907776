import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../../platform/config/local-stack';

/**
 * Terminates the executions this run left running on its private task queues of the shared dev server (e.g. a
 * payment started with no worker on its queue), so test runs do not accumulate in the Web UI; deletes the schedules
 * its workers created (the payment saga reconciler's id carries the prefix), which would keep starting workflows.
 */
async function terminateLeftovers(prefix: string) {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${LOCAL_STACK_PORTS.temporal}` });
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'finflow' });
    for await (const s of client.schedule.list()) {
      if (s.scheduleId.startsWith(prefix)) await client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
    }
    for await (const w of client.workflow.list({ query: "ExecutionStatus = 'Running'" })) {
      if (w.taskQueue.startsWith(prefix)) await client.workflow.getHandle(w.workflowId, w.runId).terminate('test run finished').catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/** Drops this run's database; topics and Mongo databases are removed by the tests that create them. */
export default async function globalTeardown(): Promise<void> {
  const prefix = process.env.TEMPORAL_TASK_QUEUE_PREFIX;
  if (prefix) await terminateLeftovers(prefix).catch((err: unknown) => console.warn(`could not clean up workflows: ${(err as Error).message}`));
  const database = process.env.FINFLOW_TEST_DATABASE;
  if (!database || process.env.FINFLOW_KEEP_TEST_DB === '1') return;
  const admin = new PgClient({
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
