/**
 * Password hashing is the server's most expensive work (scrypt takes tens of milliseconds and 16
 * MiB of memory). This queue runs a few hashes at a time, lets logins go before registrations,
 * and refuses registrations beyond a small backlog instead of letting them pile up.
 * @module
 */

/** Which kind of work: checking a password (login) or making a hash (new account, new password). */
export type HashLane = "verify" | "create";

/** The queue for a lane is full; the caller should say "busy, try again". */
export class HashQueueFullError extends Error {
  constructor() {
    super("Too many sign-ins are being processed; try again in a moment");
    this.name = "HashQueueFullError";
  }
}

interface Waiting {
  readonly start: () => void;
}

/** Runs hashing tasks with bounded concurrency and bounded waiting lines. */
export class HashQueue {
  readonly #concurrency: number;
  readonly #maxWaiting: Record<HashLane, number>;
  readonly #waiting: Record<HashLane, Waiting[]> = { verify: [], create: [] };
  #running = 0;

  /**
   * @param concurrency hashes at once (the cores it may use)
   * @param maxWaiting tasks that may wait per lane before more are refused
   */
  constructor(concurrency: number, maxWaiting: Record<HashLane, number>) {
    this.#concurrency = Math.max(1, concurrency);
    this.#maxWaiting = maxWaiting;
  }

  /** Tasks waiting in a lane. */
  waiting(lane: HashLane): number {
    return this.#waiting[lane].length;
  }

  /**
   * Runs `task` when a slot is free; logins (`verify`) before registrations (`create`).
   *
   * @throws {HashQueueFullError} at once when the lane's waiting line is full.
   */
  async run<T>(lane: HashLane, task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting[lane].length >= this.#maxWaiting[lane]) throw new HashQueueFullError();
      await new Promise<void>((start) => this.#waiting[lane].push({ start }));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      const next = this.#waiting.verify.shift() ?? this.#waiting.create.shift();
      if (next) next.start(); // the slot passes straight to the next task
      else this.#running--;
    }
  }
}
