/**
 * Broadcasts back in the order of their numbers. Every node of a cluster numbers broadcasts in
 * one sequence in Redis, but each passes its deliveries on in its own batches, so #15 from one
 * node may reach the logs before #14 from another. A receiving node hands them out in number
 * order: one that arrives early waits for those before it, at most `waitMs` (a number whose
 * delivery never comes, its node having died, is skipped then). One that arrives after its turn
 * was skipped is handed out at once: late, never lost. Unless told which number comes next
 * ({@linkcode BroadcastOrder.expect}), the first to arrive after a start waits as long, for
 * any numbered before it.
 * @module
 */

/** Puts numbered items in order before `release` gets them. */
export class BroadcastOrder<T> {
  readonly #release: (item: T) => void;
  readonly #waitMs: number;
  readonly #waiting = new Map<number, T>();
  /** The number due next; unknown until the first arrives. */
  #next: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Told of the numbers `from`–`to` when they were waited for long enough and skipped. */
  readonly #skipped: (from: number, to: number) => void;

  constructor(
    release: (item: T) => void,
    waitMs = 250,
    skipped: (from: number, to: number) => void = () => {},
  ) {
    this.#release = release;
    this.#waitMs = waitMs;
    this.#skipped = skipped;
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
      this.#timer ??= setTimeout(() => this.#skip(), this.#waitMs);
    }
  }

  #drain(): void {
    while (this.#next !== undefined && this.#waiting.has(this.#next)) {
      const item = this.#waiting.get(this.#next) as T;
      this.#waiting.delete(this.#next);
      this.#next++;
      this.#release(item);
    }
    if (this.#waiting.size === 0) this.#stopTimer();
  }

  /** Waited long enough: the missing numbers are skipped. */
  #skip(): void {
    this.#timer = undefined;
    if (this.#waiting.size === 0) return;
    const next = Math.min(...this.#waiting.keys());
    if (this.#next !== undefined && next > this.#next) this.#skipped(this.#next, next - 1);
    this.#next = next;
    this.#drain();
    if (this.#waiting.size > 0) this.#timer = setTimeout(() => this.#skip(), this.#waitMs);
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Hands out whatever waits, in order, and stops waiting. */
  flush(): void {
    this.#stopTimer();
    for (const number of [...this.#waiting.keys()].sort((a, b) => a - b)) {
      const item = this.#waiting.get(number) as T;
      this.#waiting.delete(number);
      this.#next = number + 1;
      this.#release(item);
    }
  }
}
