import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { cloudEvent } from '../../../platform/events/cloudevent';
import { PoisonMessage } from '../../../platform/events/consumer';
import { fileSink, invoiceReminderNotifier } from '../../../workers/consumers/invoice-reminders';

const dir = mkdtempSync(path.join(os.tmpdir(), 'finflow-reminders-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reminder = (data: Record<string, unknown>, type: 'invoice.reminder_due' | 'invoice.paid' = 'invoice.reminder_due') =>
  cloudEvent({ id: randomUUID(), type, source: 'finflow/invoice', subject: 'invoice/x', tenantId: randomUUID(), data });
const data = { invoiceId: randomUUID(), number: 'INV-000007', customerId: 'cus_1', currency: 'EUR', reminderNumber: 2, offsetDays: 7, dueDate: '2026-03-01', outstandingMinor: 1250 };

describe('the invoice reminder notifier', () => {
  it('writes each invoice.reminder_due as one message line to the file sink, with its event id and no personal data', async () => {
    const file = path.join(dir, 'a.jsonl');
    const notify = invoiceReminderNotifier(fileSink(file));
    const event = reminder(data);
    expect(await notify(event)).toBe('sent');
    expect(await notify(reminder(data, 'invoice.paid'))).toBe('ignored');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      expect.objectContaining({ eventId: event.id, invoiceNumber: 'INV-000007', reminderNumber: 2, text: 'Reminder 2: invoice INV-000007 was due on 2026-03-01; 1250 EUR minor units outstanding' }),
    ]);
  });

  it('dead-letters a reminder whose data it cannot read', async () => {
    const notify = invoiceReminderNotifier(fileSink(path.join(dir, 'b.jsonl')));
    await expect(notify(reminder({ ...data, reminderNumber: 'two' }))).rejects.toBeInstanceOf(PoisonMessage);
  });
});
