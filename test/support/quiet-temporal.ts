// Keeps the Temporal SDK's own INFO chatter out of test output; warnings and errors still show, except an activity
// failing on a fault a test injected on purpose (activities/payments/provider/fault-injection.ts): that is expected.
// The SDK core's native warnings are forwarded here too, so the time-skipping test server's version notice (it
// reports an old server version, so core cannot promise heartbeat details across retries: known, and no test
// relies on them) is dropped instead of printed once per worker.
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';

class QuietLogger extends DefaultLogger {
  override log(level: LogLevel, message: string, meta?: LogMetadata): void {
    if (message === 'Activity failed' && /\(injected\)/.test(String((meta?.error as Error | undefined)?.message))) return;
    if (/Temporal Server 1\.16\.0 or newer is required to guarantee that the latest heartbeat details are preserved/.test(message)) return;
    super.log(level, message, meta);
  }
}

Runtime.install({ logger: new QuietLogger('WARN'), telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } } });
