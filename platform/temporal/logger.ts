import { DefaultLogger, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the Temporal SDK's logs (worker, workflow logger, activity logger) into FinFlow's structured log. */
export function temporalLogger(log: Logger): DefaultLogger {
  const sdk = log.child({ component: 'temporal' });
  return new DefaultLogger('INFO', ({ level, message, meta }) => sdk[LEVELS[level]](meta ?? {}, message));
}
