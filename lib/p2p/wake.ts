/**
 * A wake-up signal: a loop sleeps until poked or until a timeout, whichever comes first.
 * @module
 */

/** Lets an event handler wake a waiting loop. */
export class Wake {
  #resolve: (() => void) | undefined;
  #pending = false;

  /** Wakes the waiter now (or the next one to wait, if none is waiting). */
  poke(): void {
    if (this.#resolve) {
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve();
    } else {
      this.#pending = true;
    }
  }

  /** Waits for a poke or `ms` milliseconds. */
  wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#resolve = undefined;
        resolve();
      }, Math.max(0, ms));
      this.#resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
