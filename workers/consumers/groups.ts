/**
 * FinFlow's consumer groups: which topic each reads and what it does with an event. The consumers process
 * (workers/consumers.ts) runs them; tests run the very same groups on their own topics.
 */
import type { Kafka } from 'kafkajs';
import type { Db } from 'mongodb';
import type { Pool } from 'pg';
import type { Config } from '../../platform/config';
import { startConsumer } from '../../platform/events/consumer';
import type { Logger } from '../../platform/logger';
import { complianceRecorder } from './compliance';
import { fileSink, invoiceReminderNotifier, logSink } from './invoice-reminders';
import type { CloseScheduler } from '../period-close-schedule';
import { tenantProvisioner } from './tenant-provisioner';

export const CONSUMER_GROUPS = ['finflow-tenant-provisioner', 'finflow-compliance', 'finflow-invoice-reminders'] as const;

export async function startConsumerGroups(deps: {
  kafka: Kafka;
  log: Logger;
  db: Pool;
  analytics: Db;
  /** Each new tenant's monthly PeriodClose schedule (the consumers process wires a Temporal client). */
  closeSchedules?: CloseScheduler;
  config: Pick<Config, 'KAFKA_TOPIC_PREFIX' | 'COMPLIANCE_FAILURE_THRESHOLD' | 'COMPLIANCE_WINDOW_HOURS' | 'INVOICE_REMINDER_FILE'>;
}) {
  const { kafka, log, db, config: cfg } = deps;
  const provision = tenantProvisioner({ db, analytics: deps.analytics, closeSchedules: deps.closeSchedules });
  const recordFailure = complianceRecorder({ db, failureThreshold: cfg.COMPLIANCE_FAILURE_THRESHOLD, windowHours: cfg.COMPLIANCE_WINDOW_HOURS });
  const notifyReminder = invoiceReminderNotifier(cfg.INVOICE_REMINDER_FILE ? fileSink(cfg.INVOICE_REMINDER_FILE) : logSink(log));
  return [
    await startConsumer({
      kafka,
      log,
      groupId: `${cfg.KAFKA_TOPIC_PREFIX}finflow-tenant-provisioner`,
      topic: 'user.events',
      topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
      handle: async (event) => {
        const outcome = await provision(event);
        if (outcome !== 'ignored') log.info({ eventId: event.id, outcome }, 'user.registered handled');
      },
    }),
    await startConsumer({
      kafka,
      log,
      groupId: `${cfg.KAFKA_TOPIC_PREFIX}finflow-compliance`,
      topic: 'payment.events',
      topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
      handle: async (event) => {
        const outcome = await recordFailure(event);
        if (outcome === 'flagged') log.warn({ eventId: event.id, tenantId: event.tenantid }, 'customer flagged for compliance review');
      },
    }),
    await startConsumer({
      kafka,
      log,
      groupId: `${cfg.KAFKA_TOPIC_PREFIX}finflow-invoice-reminders`,
      topic: 'payment.events',
      topicPrefix: cfg.KAFKA_TOPIC_PREFIX,
      handle: async (event) => void (await notifyReminder(event)),
    }),
  ];
}
