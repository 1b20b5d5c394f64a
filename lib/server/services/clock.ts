/**
 * Where the server reads the time and sets its timers, so tests can move time instead of
 * sleeping.
 * @module
 */

/** A timer set on a {@linkcode Clock}. */
export type ClockTimer = { readonly id: number | ReturnType<typeof setTimeout> };

/** A source of wall-clock time, and timers on it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `run` once `ms` of this clock's time have passed. */
  setTimeout(run: () => void, ms: number): ClockTimer;
  /** Cancels a timer (nothing for one that ran, or `undefined`). */
  clearTimeout(timer: ClockTimer | undefined): void;
}

/** The system clock, and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => ({ id: setTimeout(run, ms) }),
  clearTimeout: (timer) => {
    if (timer !== undefined) clearTimeout(timer.id as ReturnType<typeof setTimeout>);
  },
};

/** A clock tests set by hand: its timers run when {@linkcode ManualClock.advance} passes them. */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, { due: number; run: () => void }>();

  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(run: () => void, ms: number): ClockTimer {
    const id = this.#nextId++;
    this.#timers.set(id, { due: this.#now + Math.max(0, ms), run });
    return { id };
  }

  clearTimeout(timer: ClockTimer | undefined): void {
    if (timer !== undefined) this.#timers.delete(timer.id as number);
  }

  /** Moves the clock forward by `ms`, running the timers due on the way, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    while (true) {
      let next: [number, { due: number; run: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].due <= end && (next === undefined || entry[1].due < next[1].due)) next = entry;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].due);
      next[1].run();
    }
    this.#now = end;
  }
}
