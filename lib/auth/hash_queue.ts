/**
 * Password hashing is the server's most expensive work (scrypt takes tens of milliseconds and 16
 * MiB of memory). This queue runs a few hashes at a time, keeps registrations to a share of
 * them so a login always finds a free slot, and refuses registrations beyond a small backlog
 * instead of letting them pile up.
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

/** Limits of one lane. */
export interface LaneLimits {
  /** Tasks of this lane running at once. */
  readonly running: number;
  /** Tasks that may wait before more are refused. */
  readonly waiting: number;
}

/** Runs hashing tasks with bounded concurrency and bounded waiting lines. */
export class HashQueue {
  readonly #concurrency: number;
  readonly #limits: Record<HashLane, LaneLimits>;
  readonly #waiting: Record<HashLane, (() => void)[]> = { verify: [], create: [] };
  readonly #running: Record<HashLane, number> = { verify: 0, create: 0 };

  /**
   * @param concurrency hashes at once, all lanes together (the cores it may use)
   * @param limits per lane: how many may run at once and how many may wait
   */
  constructor(concurrency: number, limits: Record<HashLane, LaneLimits>) {
    this.#concurrency = Math.max(1, concurrency);
    this.#limits = limits;
  }

  /** Tasks waiting in a lane. */
  waiting(lane: HashLane): number {
    return this.#waiting[lane].length;
  }

  #mayStart(lane: HashLane): boolean {
    const running = this.#running.verify + this.#running.create;
    return running < this.#concurrency && this.#running[lane] < this.#limits[lane].running;
  }

  /**
   * Runs `task` when a slot is free; logins (`verify`) before registrations (`create`).
   *
   * @throws {HashQueueFullError} at once when the lane's waiting line is full.
   */
  async run<T>(lane: HashLane, task: () => Promise<T>): Promise<T> {
    if (this.#waiting[lane].length === 0 && this.#mayStart(lane)) {
      this.#running[lane]++;
    } else {
      if (this.#waiting[lane].length >= this.#limits[lane].waiting) throw new HashQueueFullError();
      // #startNext reserves the slot before waking us, so nobody can take it in between.
      await new Promise<void>((start) => this.#waiting[lane].push(start));
    }
    try {
      return await task();
    } finally {
      this.#running[lane]--;
      this.#startNext();
    }
  }

  /** Hands free slots to waiting tasks, logins first. */
  #startNext(): void {
    let handed = true;
    while (handed) {
      handed = false;
      for (const lane of ["verify", "create"] as const) {
        const next = this.#waiting[lane][0];
        if (next === undefined || !this.#mayStart(lane)) continue;
        this.#waiting[lane].shift();
        this.#running[lane]++;
        next();
        handed = true;
        break;
      }
    }
  }
}
