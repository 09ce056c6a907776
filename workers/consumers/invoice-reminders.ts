/**
 * The notification consumer of invoice.reminder_due: each reminder becomes a message through a sink. Locally the
 * sink is the log, or a file of JSON lines (INVOICE_REMINDER_FILE); a mail adapter is one more sink behind the same
 * port (the customer is an opaque id here: the adapter looks up where to write). Delivery is at least once: each
 * notice carries the event id, by which a sink that must not repeat itself dedupes.
 */
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { parseData } from '../../platform/events/consumer';
import type { Logger } from '../../platform/logger';

export interface ReminderNotice {
  eventId: string;
  tenantId: string;
  invoiceId: string;
  invoiceNumber: string | null;
  customerId: string;
  reminderNumber: number;
  dueDate: string;
  outstandingMinor: number;
  currency: string;
  /** What the message says, without personal data. */
  text: string;
}

export interface ReminderSink {
  send(notice: ReminderNotice): Promise<void>;
}

export const logSink = (log: Logger): ReminderSink => ({
  async send(n) {
    log.info({ eventId: n.eventId, invoiceId: n.invoiceId, reminderNumber: n.reminderNumber }, n.text);
  },
});

export const fileSink = (path: string): ReminderSink => ({
  async send(n) {
    await appendFile(path, `${JSON.stringify(n)}\n`, 'utf8');
  },
});

const reminderDue = z.object({
  invoiceId: z.guid(),
  number: z.string().max(40).nullable(),
  customerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  currency: z.string().regex(/^[A-Z]{3}$/),
  reminderNumber: z.number().int().min(1).max(100),
  offsetDays: z.number().int(),
  dueDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  outstandingMinor: z.number().int().min(0),
});

export function invoiceReminderNotifier(sink: ReminderSink) {
  return async function notifyReminder(event: CloudEvent): Promise<'sent' | 'ignored'> {
    if (event.type !== 'invoice.reminder_due') return 'ignored';
    const d = parseData(event, reminderDue);
    const when = d.offsetDays < 0 ? `is due on ${d.dueDate}` : `was due on ${d.dueDate}`;
    await sink.send({
      eventId: event.id,
      tenantId: event.tenantid,
      invoiceId: d.invoiceId,
      invoiceNumber: d.number,
      customerId: d.customerId,
      reminderNumber: d.reminderNumber,
      dueDate: d.dueDate,
      outstandingMinor: d.outstandingMinor,
      currency: d.currency,
      text: `Reminder ${d.reminderNumber}: invoice ${d.number ?? d.invoiceId} ${when}; ${d.outstandingMinor} ${d.currency} minor units outstanding`,
    });
    return 'sent';
  };
}
