/**
 * A token bucket without timers: pure arithmetic on timestamps, for flood control.
 * @module
 */

/** What taking a token means for the caller. */
export type TakeResult =
  | { readonly kind: "now" }
  | { readonly kind: "wait"; readonly ms: number }
  | { readonly kind: "exceeded" };

/**
 * Allows `rate` actions per second with bursts of `burst`. Past that an action must wait until its
 * token has accrued; when the debt would take more than `maxWaitMs` to repay, it is refused.
 *
 * @example Usage
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const bucket = new TokenBucket(10, 20, 5000);
 * bucket.take(performance.now()); // { kind: "now" }
 * ```
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxDebt: number;
  #tokens: number;
  #updated = -Infinity;

  constructor(ratePerSecond: number, burst: number, maxWaitMs: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#maxDebt = (ratePerSecond * maxWaitMs) / 1000;
  }

  /** Takes one token at time `now` (ms). */
  take(now: number): TakeResult {
    if (this.#updated !== -Infinity) {
      this.#tokens = Math.min(
        this.#burst,
        this.#tokens + ((now - this.#updated) * this.#rate) / 1000,
      );
    }
    this.#updated = now;
    if (this.#tokens - 1 < -this.#maxDebt) return { kind: "exceeded" };
    this.#tokens -= 1;
    if (this.#tokens >= 0) return { kind: "now" };
    return { kind: "wait", ms: (-this.#tokens * 1000) / this.#rate };
  }
}
