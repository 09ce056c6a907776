/**
 * A payments worker in the test's own process, for tests that stop and restart it: built (its workflow code
 * bundled) by `preparePaymentsWorker`, polling only once `run` is called, so a restart takes no bundling time.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from '../../platform/db/pool';
import type { Config } from '../../platform/config';
import { connectWorker, createWorkers, paymentProvider, riskPolicy } from '../../workers/create-workers';

export interface RunningWorker {
  stop(): Promise<void>;
}

export async function preparePaymentsWorker(
  cfg: Config,
  db: Pool,
  temporal: Client,
  provider: ReturnType<typeof paymentProvider> = paymentProvider(cfg, db),
): Promise<{ run: () => RunningWorker }> {
  const connection = await connectWorker(cfg);
  const [worker] = await createWorkers(cfg, connection, { db, provider, risk: riskPolicy(cfg), temporal }, ['payments']);
  return {
    run() {
      const running = worker!.run();
      return {
        async stop() {
          worker!.shutdown();
          await running;
          await connection.close();
        },
      };
    },
  };
}
