/**
 * A business refusal from an activity: a decline, a rejected refund, the ledger's or the credit engine's no. It is
 * not retried, and the workflow turns it into an outcome. Marked BENIGN, so the worker logs it at DEBUG and keeps
 * it out of its failure metrics: WARN stays for what may need a person (outages, defects, a missing row).
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';

export function refusal(type: string, message: string, details?: unknown[]): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, category: ApplicationFailureCategory.BENIGN, details });
}
