/**
 * FOR TESTS: a wrapper around any provider that injects declines and outages on chosen payments and counts
 * every call per payment, so tests can assert "at most one capture" and drive retries and compensation.
 */
import { ProviderError, PROVIDER_DECLINED, PROVIDER_UNAVAILABLE, type PaymentProvider, type ProviderIntent } from './port';

type Method = 'createIntent' | 'authorize' | 'retrieve' | 'capture' | 'cancel' | 'refund';

export interface Fault {
  method: Method;
  /** `lost`: the provider does what was asked, but its answer never arrives (the caller sees an outage). */
  kind: 'decline' | 'unavailable' | 'lost';
  /** How many calls fail before the provider answers again (Infinity: it never does). */
  times: number;
  /** How many calls go through before the fault starts (default none). */
  after?: number;
}

/** A provider that can show a payment's intent as its dashboard would (the sandbox can). */
type Inspectable = PaymentProvider & { findIntent?(paymentId: string): Promise<ProviderIntent | undefined> };

export class FaultInjectingProvider implements PaymentProvider {
  readonly name: string;
  private readonly calls = new Map<string, Record<Method, number>>();
  private readonly faults = new Map<string, Fault[]>();

  constructor(private readonly inner: Inspectable) {
    this.name = `fault-injecting(${inner.name})`;
  }

  inject(paymentId: string, fault: Fault): void {
    this.faults.set(paymentId, [...(this.faults.get(paymentId) ?? []), { ...fault }]);
  }

  callsFor(paymentId: string): Record<Method, number> {
    return { createIntent: 0, authorize: 0, retrieve: 0, capture: 0, cancel: 0, refund: 0, ...this.calls.get(paymentId) };
  }

  /** The inner provider's own view of the payment's intent, for assertions: not counted, never faulted. */
  findIntent(paymentId: string): Promise<ProviderIntent | undefined> {
    if (!this.inner.findIntent) throw new Error(`${this.inner.name} cannot show a payment's intent`);
    return this.inner.findIntent(paymentId);
  }

  private async call<T>(method: Method, paymentId: string, run: () => Promise<T>): Promise<T> {
    const counts = this.callsFor(paymentId);
    counts[method] += 1;
    this.calls.set(paymentId, counts);
    const fault = this.faults.get(paymentId)?.find((f) => f.method === method && f.times > 0);
    if (fault?.after) {
      fault.after -= 1;
      return run();
    }
    if (fault) {
      fault.times -= 1;
      if (fault.kind === 'lost') {
        await run();
        throw new ProviderError(PROVIDER_UNAVAILABLE, 'The provider answered, but the answer was lost (injected)');
      }
      throw fault.kind === 'decline'
        ? new ProviderError(PROVIDER_DECLINED, 'The card was declined (injected)', 'generic_decline')
        : new ProviderError(PROVIDER_UNAVAILABLE, 'The provider is unavailable (injected)');
    }
    return run();
  }

  createIntent(input: Parameters<PaymentProvider['createIntent']>[0]) {
    return this.call('createIntent', input.paymentId, () => this.inner.createIntent(input));
  }
  authorize(input: Parameters<PaymentProvider['authorize']>[0]) {
    return this.call('authorize', input.paymentId, () => this.inner.authorize(input));
  }
  retrieve(input: Parameters<PaymentProvider['retrieve']>[0]) {
    return this.call('retrieve', input.paymentId, () => this.inner.retrieve(input));
  }
  capture(input: Parameters<PaymentProvider['capture']>[0]) {
    return this.call('capture', input.paymentId, () => this.inner.capture(input));
  }
  cancel(input: Parameters<PaymentProvider['cancel']>[0]) {
    return this.call('cancel', input.paymentId, () => this.inner.cancel(input));
  }
  refund(input: Parameters<PaymentProvider['refund']>[0]) {
    return this.call('refund', input.paymentId, () => this.inner.refund(input));
  }
}
