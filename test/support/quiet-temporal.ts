// Keeps the Temporal SDK's own INFO chatter out of test output; warnings and errors still show, except an activity
// failing on a fault a test injected on purpose (activities/payments/provider/fault-injection.ts): that is expected.
// The SDK core's native log (printed by core itself, not through this logger) is kept to errors: its one warning in
// the suite is the time-skipping test server's version notice (an old server version, so core cannot promise
// heartbeat details across retries: known, and no test relies on them), printed once per worker. Forwarding core
// logs to this logger instead would keep a log pump alive and stop jest from exiting.
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';

class QuietLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (message === 'Activity failed' && /\(injected\)/.test(String((meta?.error as Error | undefined)?.message))) return;
    super.log(level, message, meta);
  }
}

Runtime.install({ logger: new QuietLogger('WARN'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }) } } });
