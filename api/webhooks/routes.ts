import { z } from 'zod';
import { route, type AnyRoute } from '../routing';
import type { StripeWebhooks } from './stripe-service';

const answer = z.object({ received: z.literal(true), outcome: z.string() });

/**
 * Webhook endpoints. No bearer credential: Stripe authenticates each request by signing its raw body with the
 * endpoint's secret (checked in StripeWebhooks). The body limit and the per-IP rate limit are the API's.
 */
export function webhookRoutes(stripe: StripeWebhooks): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/webhooks/stripe',
      summary:
        'Stripe webhook endpoint: payment_intent.* (to the waiting payment saga); charge.dispute.created (an inquiry is kept, nothing booked; a chargeback is booked), charge.dispute.updated (an inquiry turned chargeback is booked), charge.dispute.funds_withdrawn (books it if not yet), charge.dispute.closed and charge.dispute.funds_reinstated (return a won dispute once); charge.refunded (checks the refund). Signed with STRIPE_WEBHOOK_SECRET; each event acted on once, each dispute booked and returned at most once.',
      tag: 'webhooks',
      access: 'public',
      headers: z.object({ 'stripe-signature': z.string().min(1).max(2000) }),
      responses: {
        200: { description: 'Received (outcome: delivered, saga_ended, inquiry, disputed, dispute_closed, refund_known, needs_review, unmatched, duplicate or ignored)', schema: answer },
        409: { description: 'The payment is still being processed: Stripe sends the event again later', schema: null },
      },
      async handler(ctx, { headers }) {
        ctx.body = await stripe.receive(ctx.request.rawBody, headers['stripe-signature']);
      },
    }),
  ];
}
