/**
 * Rates per key (per client address): a token bucket each, forgotten once it would be full again,
 * so the map holds only addresses active in the last moments and cannot grow without bound.
 * @module
 */

import { TokenBucket } from "./token_bucket.ts";

interface Entry {
  readonly bucket: TokenBucket;
  last: number;
}

/** Allows `rate` actions per second per key, in bursts of `burst`; rate 0 allows everything. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #entries = new Map<string, Entry>();
  #sweptAt = 0;

  constructor(rate: number, burst: number = rate * 2, maxKeys = 100_000) {
    this.#rate = rate;
    this.#burst = Math.max(1, burst);
    this.#maxKeys = maxKeys;
  }

  /** Takes one action for `key` at `now` (ms, monotonic); false when over the rate. */
  allow(key: string, now: number = performance.now()): boolean {
    if (this.#rate <= 0) return true;
    // A bucket left alone this long has refilled: dropping it changes nothing.
    const refillMs = (this.#burst / this.#rate) * 1000;
    if (now - this.#sweptAt > Math.max(refillMs, 1000)) {
      this.#sweptAt = now;
      for (const [k, e] of this.#entries) if (now - e.last > refillMs) this.#entries.delete(k);
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      if (this.#entries.size >= this.#maxKeys) return false; // a flood of addresses: refuse
      this.#entries.set(
        key,
        entry = { bucket: new TokenBucket(this.#rate, this.#burst, 0), last: now },
      );
    }
    entry.last = now;
    return entry.bucket.take(now).kind === "now";
  }
}
