/**
 * FinFlow's custom search attributes: what ops filter workflows by in the Temporal Web UI. No PII ever goes here
 * (no names, emails, card data): ids, states, amounts and codes only. The local stack registers every key below
 * (`npm run stack -- up`); for a cluster, `npm run temporal:setup` does the same against TEMPORAL_ADDRESS.
 * Workflow-safe: only @temporalio/common.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const CustomerId = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
/** The business state of the entity the workflow drives (payment, invoice, application), not Temporal's own. */
export const Status = defineSearchAttributeKey('Status', SearchAttributeType.KEYWORD);
export const AmountMinor = defineSearchAttributeKey('AmountMinor', SearchAttributeType.INT);
export const Currency = defineSearchAttributeKey('Currency', SearchAttributeType.KEYWORD);
export const Decision = defineSearchAttributeKey('Decision', SearchAttributeType.KEYWORD);
export const ModelVersion = defineSearchAttributeKey('ModelVersion', SearchAttributeType.KEYWORD);
/** An invoice's amount still owed, in minor units of its Currency. */
export const AmountOutstanding = defineSearchAttributeKey('AmountOutstanding', SearchAttributeType.INT);
/** An invoice's due date (midnight UTC). */
export const DueDate = defineSearchAttributeKey('DueDate', SearchAttributeType.DATETIME);

export const ALL_SEARCH_ATTRIBUTES = [TenantId, CustomerId, Status, AmountMinor, Currency, Decision, ModelVersion, AmountOutstanding, DueDate];
