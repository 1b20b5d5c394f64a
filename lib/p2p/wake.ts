/**
 * A wake-up signal: a loop sleeps until poked or until a timeout, whichever comes first.
 * @module
 */

/**
 * A timer already set to fire within this many milliseconds of a new wait's deadline serves that
 * wait too. Deno's timers fire on whole milliseconds, about one late, so a closer deadline is not
 * kept anyway, and setting and clearing a timer per wait was a tenth of a sending loop's work.
 */
const REUSE_WITHIN_MS = 0.5;

/** Lets an event handler wake a waiting loop. */
export class Wake {
  #resolve: (() => void) | undefined;
  #pending = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When `#timer` fires (`performance.now()` time). */
  #due = 0;
  readonly #fire = () => {
    this.#timer = undefined;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.();
  };

  /** Wakes the waiter now (or the next one to wait, if none is waiting). */
  poke(): void {
    const resolve = this.#resolve;
    if (resolve) {
      this.#resolve = undefined;
      resolve();
    } else {
      this.#pending = true;
    }
  }

  /**
   * Waits for a poke or `ms` milliseconds. A timer left from an earlier wait that a poke ended
   * stays set, and serves this wait if it fires about when this one should end.
   */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    const delay = Math.max(0, ms);
    const due = performance.now() + delay;
    if (this.#timer !== undefined && Math.abs(this.#due - due) > REUSE_WITHIN_MS) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#timer === undefined) {
      this.#due = due;
      this.#timer = setTimeout(this.#fire, delay);
    }
    return new Promise((resolve) => this.#resolve = resolve);
  }

  /** Clears the timer (none is left to keep the process alive); a waiter is woken. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#fire();
  }
}
