/**
 * The sender's pacing: a token bucket filled at the window's rate, which lets chunks out a
 * quantum at a time rather than one by one as the tokens trickle in. Every send is a system call
 * and every wait a wake-up; one per chunk or two cost the sender more than the bytes did.
 * @module
 */

/**
 * The bucket holds at most this many milliseconds' worth of chunks: more than a turn of the send
 * loop lasts (Deno's timers fire on a whole millisecond and about one late: a timeout of 0 to
 * 1.5 ms measured 2.1 ms here), or the tokens of a late turn are lost and the link left idle.
 */
export const BURST_MS = 3;
/** Chunks go out this many milliseconds' worth at a time, unless fewer are left to send. */
export const QUANTUM_MS = 1;
/** The bucket holds at least this many chunks, however slow the rate. */
const MIN_BURST = 8;

/** A token bucket of chunks; rates are in chunks per millisecond. */
export class Pacer {
  #tokens = 0;
  #lastRefill: number;
  #quantum = 1;

  /** Starts empty at `now` (ms). */
  constructor(now: number) {
    this.#lastRefill = now;
  }

  /**
   * Fills the bucket for the time since the last call, at `rate`, and says how many chunks may
   * go now: none while less than a quantum has accrued, unless `pending` (what is left to send)
   * is less than a quantum.
   */
  allowance(now: number, rate: number, pending: number): number {
    const most = Math.max(MIN_BURST, rate * BURST_MS);
    this.#tokens = Math.min(most, this.#tokens + rate * (now - this.#lastRefill));
    this.#lastRefill = now;
    this.#quantum = Math.min(Math.max(1, rate * QUANTUM_MS), Math.max(1, pending));
    return this.#tokens >= this.#quantum ? Math.floor(this.#tokens) : 0;
  }

  /** `count` chunks went out. */
  spend(count: number): void {
    this.#tokens -= count;
  }

  /** Milliseconds until the quantum of the last {@linkcode allowance} will have accrued at `rate`. */
  untilQuantum(rate: number): number {
    return Math.max(0, (this.#quantum - this.#tokens) / rate);
  }
}
