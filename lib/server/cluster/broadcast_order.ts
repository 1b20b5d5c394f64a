/**
 * Broadcasts back in the order of their numbers. Every node of a cluster numbers broadcasts in
 * one sequence in Redis, but each passes its deliveries on in its own batches, so #15 from one
 * node may reach the logs before #14 from another. A receiving node hands them out in number
 * order: one that arrives early waits for those before it, at most `waitMs` (a number whose
 * delivery never comes, its node having died, is looked for with `fill` first: what it finds (read
 * back from the store) is handed out in its place, before those waiting behind it; what it does
 * not find is skipped; while the store does not answer, it is looked for again for up to 10 s
 * first). One that arrives after its turn was skipped is handed out at once: late,
 * never lost. Unless told which number comes next
 * ({@linkcode BroadcastOrder.expect}), the first to arrive after a start waits as long, for
 * any numbered before it.
 * @module
 */

import { type Clock, type ClockTimer, systemClock } from "../services/clock.ts";

/** How long one look for the gap's items may take before it counts as unanswered, ms. */
const FILL_WAIT_MS = 1000;
/**
 * How long a gap is looked for again while the store does not answer (Redis restarting), ms:
 * skipping it then would hand out what follows before a broadcast that was stored and comes back.
 */
const UNANSWERED_GAP_MS = 10_000;

/**
 * Looks for the items numbered `from`–`to` elsewhere; resolves with those it found, or rejects
 * when it could not look (the store unreachable).
 */
export type Fill<T> = (from: number, to: number) => Promise<Map<number, T>>;

/** Puts numbered items in order before `release` gets them. */
export class BroadcastOrder<T> {
  readonly #release: (item: T) => void;
  readonly #waitMs: number;
  readonly #waiting = new Map<number, T>();
  /** The number due next; unknown until the first arrives. */
  #next: number | undefined;
  #timer: ClockTimer | undefined;
  readonly #clock: Clock;

  /** Finds the numbers `from`–`to` when they were waited for long enough (by number). */
  readonly #fill: Fill<T> | undefined;
  /** A fill under way: nothing is handed out past the gap meanwhile. */
  #filling = false;
  /** When a fill under way is given up on. */
  #fillTimer: ClockTimer | undefined;
  /** When the gap now looked for was first looked for, while the store did not answer. */
  #unansweredSince: number | undefined;
  /** Flushed for closing: a fill that answers later is not waited for. */
  #closed = false;

  constructor(
    release: (item: T) => void,
    waitMs = 250,
    fill?: Fill<T>,
    clock: Clock = systemClock,
  ) {
    this.#release = release;
    this.#waitMs = waitMs;
    this.#fill = fill;
    this.#clock = clock;
  }

  /** Sets the number due next, unless one has arrived already (then it is known). */
  expect(next: number): void {
    if (this.#next === undefined && this.#waiting.size === 0) this.#next = next;
  }

  /** Broadcasts waiting for an earlier one. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /**
   * Takes broadcast `number`: hands it out now if it is due (with any it was holding up). The
   * first after a start waits for those numbered before it that are on their way.
   */
  add(number: number, item: T): void {
    if (this.#next !== undefined && number < this.#next) {
      this.#release(item); // its turn was skipped: late, never lost
      return;
    }
    this.#waiting.set(number, item);
    this.#drain();
    if (this.#waiting.size > 0) {
      this.#timer ??= this.#clock.setTimeout(() => this.#skip(), this.#waitMs);
    }
  }

  #drain(): void {
    while (this.#next !== undefined && this.#waiting.has(this.#next)) {
      const item = this.#waiting.get(this.#next) as T;
      this.#waiting.delete(this.#next);
      this.#next++;
      this.#unansweredSince = undefined; // a gap closed: the next one gets its own while
      this.#release(item);
    }
    if (this.#waiting.size === 0) this.#stopTimer();
  }

  /** Waited long enough: the missing numbers are looked for, then skipped if not found. */
  #skip(): void {
    this.#timer = undefined;
    if (this.#waiting.size === 0 || this.#filling) return;
    const next = Math.min(...this.#waiting.keys());
    if (this.#fill && this.#next !== undefined && next > this.#next) {
      const [from, to] = [this.#next, next - 1];
      this.#filling = true;
      const gaveUp = new Promise<undefined>((resolve) =>
        this.#fillTimer = this.#clock.setTimeout(() => resolve(undefined), FILL_WAIT_MS)
      );
      Promise.race([this.#fill(from, to), gaveUp]).catch(() => undefined).then(
        (found) => {
          this.#clock.clearTimeout(this.#fillTimer);
          this.#fillTimer = undefined;
          this.#filling = false;
          if (this.#closed) return;
          if (found === undefined) {
            // The store did not answer: look again after the wait, for a while, before skipping.
            const now = this.#clock.now();
            this.#unansweredSince ??= now;
            if (now - this.#unansweredSince < UNANSWERED_GAP_MS) {
              this.#timer ??= this.#clock.setTimeout(() => this.#skip(), this.#waitMs);
              return;
            }
            found = new Map();
          }
          this.#unansweredSince = undefined;
          for (const [number, item] of found) {
            const due = this.#next !== undefined && number >= this.#next && number <= to;
            if (due && !this.#waiting.has(number)) this.#waiting.set(number, item);
          }
          this.#skipTo(Math.min(...this.#waiting.keys()));
        },
      );
      return;
    }
    this.#skipTo(next);
  }

  #skipTo(next: number): void {
    if (!Number.isFinite(next)) return;
    this.#next = next;
    this.#drain();
    if (this.#waiting.size > 0) {
      this.#timer ??= this.#clock.setTimeout(() => this.#skip(), this.#waitMs);
    }
  }

  #stopTimer(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Hands out whatever waits, in order, stops waiting, and gives up a fill under way. */

  flush(): void {
    this.#closed = true;
    this.#stopTimer();
    this.#clock.clearTimeout(this.#fillTimer);
    this.#fillTimer = undefined;
    for (const number of [...this.#waiting.keys()].sort((a, b) => a - b)) {
      const item = this.#waiting.get(number) as T;
      this.#waiting.delete(number);
      this.#next = number + 1;
      this.#release(item);
    }
  }
}
