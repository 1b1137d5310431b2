/**
 * One byte budget for every request body kumo holds in memory at once (the Google API port's REST
 * bodies and gRPC messages, kumo's own `/api` JSON): each call takes a lease, the lease grows as
 * bytes arrive (or by the declared length up front), and a call that would go over the budget is
 * refused with RESOURCE_EXHAUSTED and `Retry-After`, instead of the server growing until it dies.
 * The lease is released when the call ends. Pure bookkeeping: no I/O, no clock.
 */
import { KumoError } from './errors.js';

/** Default across all bodies in flight: enough for several large calls, far below a small machine's memory. */
export const DEFAULT_BODY_BUDGET_BYTES = 256 * 1024 * 1024;

export class BodyBudget {
  private inUse = 0;

  constructor(readonly limitBytes: number = DEFAULT_BODY_BUDGET_BYTES) {
    if (!(limitBytes > 0)) throw new KumoError('INVALID_ARGUMENT', `the body budget must be above 0 bytes; got ${limitBytes}`);
  }

  get usedBytes(): number {
    return this.inUse;
  }

  lease(): BodyLease {
    return new BodyLease(this);
  }

  /** @internal for BodyLease */
  grant(n: number): boolean {
    if (this.inUse + n > this.limitBytes) return false;
    this.inUse += n;
    return true;
  }

  /** @internal for BodyLease */
  giveBack(n: number): void {
    this.inUse = Math.max(0, this.inUse - n);
  }
}

export class BodyLease {
  private held = 0;
  private released = false;

  constructor(private readonly budget: BodyBudget) {}

  get heldBytes(): number {
    return this.held;
  }

  /** The error a client sees when `take` fails: RESOURCE_EXHAUSTED, retry in a second. */
  exhausted(): KumoError {
    return budgetExhausted(this.budget.limitBytes);
  }

  /** Take `n` more bytes; false when the budget has no room (the lease keeps what it had). */
  take(n: number): boolean {
    if (this.released) return false;
    if (n <= 0) return true;
    if (!this.budget.grant(n)) return false;
    this.held += n;
    return true;
  }

  /** Give everything back; later `take`s fail. Safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.giveBack(this.held);
    this.held = 0;
  }
}

export function budgetExhausted(limitBytes: number): KumoError {
  return new KumoError(
    'RESOURCE_EXHAUSTED',
    `kumo is holding ${Math.round(limitBytes / 1024 ** 2)} MiB of request bodies already; retry shortly (large uploads are admitted a few at a time)`,
    { retryAfterSec: 1 },
  );
}
