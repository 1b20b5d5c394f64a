/**
 * A cap on socket writes in flight at once, across every connection of a server.
 *
 * Deno completes at most 128 socket operations per turn of its event loop (Tokio's cooperative
 * budget in its op driver). With a thousand writes pending at once, the ones that miss a turn
 * are not simply next: some wait many turns while others go first, and a fan-out's slowest
 * receivers wait hundreds of milliseconds. Holding writes back here, in a first-come queue, keeps
 * the pending ones within what a turn completes, so every connection waits its turn once.
 *
 * A write to a peer that stops reading may never complete; after `stallMs` it no longer counts
 * against the cap, so a few stalled peers cannot hold everyone else's writes.
 * @module
 */

/** A place among the writes in flight, given back with {@linkcode WriteGate.leave}. */
export interface WriteTicket {
  readonly since: number;
  /** Set when the write counted no longer (it stalled); leaving is then a no-op. */
  detached: boolean;
  /** Set when the place was given back. */
  left: boolean;
}

/** See the module documentation. */
export class WriteGate {
  readonly #slots: number;
  readonly #stallMs: number;
  readonly #now: () => number;
  /** Writes in flight that count against the cap. */
  #counted = 0;
  /**
   * Tickets given out, oldest first, from `#head` on; those given back are dropped from the front
   * as they reach it. An array rather than a set: a fan-out takes and gives back a ticket per
   * write, and the set's hashing showed in profiles.
   */
  #tickets: WriteTicket[] = [];
  #head = 0;
  #waiters: ((ticket: WriteTicket) => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param now the clock stalls are timed by. `Date.now` by default: it costs less than
   *   `performance.now()`, which is an op call per write, and a jump of the wall clock only makes
   *   one stall check early or late.
   */
  constructor(slots: number, stallMs: number, now: () => number = Date.now) {
    this.#slots = slots;
    this.#stallMs = stallMs;
    this.#now = now;
  }

  /** Writes in flight that count against the cap. */
  get inFlight(): number {
    return this.#counted;
  }

  /** Writes waiting for a place. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** A place for one write: at once when one is free, else a promise of one, first come first. */
  enter(): WriteTicket | Promise<WriteTicket> {
    if (this.#counted >= this.#slots) this.#evictStalled();
    if (this.#counted < this.#slots && this.#waiters.length === 0) return this.#take();
    const place = new Promise<WriteTicket>((resolve) => this.#waiters.push(resolve));
    this.#timer ??= setTimeout(() => this.#recheck(), this.#stallMs);
    return place;
  }

  /** Gives a place back once its write has completed (or failed); again, it does nothing. */
  leave(ticket: WriteTicket): void {
    if (ticket.left) return;
    ticket.left = true;
    if (ticket.detached) return;
    this.#counted--;
    this.#dropLeft();
    this.#grant();
  }

  #take(): WriteTicket {
    const ticket: WriteTicket = { since: this.#now(), detached: false, left: false };
    this.#tickets.push(ticket);
    this.#counted++;
    return ticket;
  }

  /** Forgets the tickets at the front that were given back or stopped counting. */
  #dropLeft(): void {
    const tickets = this.#tickets;
    let head = this.#head;
    while (head < tickets.length && (tickets[head].left || tickets[head].detached)) head++;
    if (head === tickets.length) {
      this.#tickets = [];
      head = 0;
    } else if (head > 1024 && head * 2 > tickets.length) {
      this.#tickets = tickets.slice(head);
      head = 0;
    }
    this.#head = head;
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#counted < this.#slots) {
      this.#waiters.shift()?.(this.#take());
    }
    if (this.#waiters.length === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Writes in flight for longer than `stallMs` stop counting (oldest first). */
  #evictStalled(): void {
    const limit = this.#now() - this.#stallMs;
    for (let i = this.#head; i < this.#tickets.length; i++) {
      const ticket = this.#tickets[i];
      if (ticket.since > limit) break;
      if (ticket.left || ticket.detached) continue;
      ticket.detached = true;
      this.#counted--;
    }
    this.#dropLeft();
  }

  /** Runs while writes wait and none completes: frees the places of stalled ones. */
  #recheck(): void {
    this.#timer = undefined;
    this.#evictStalled();
    this.#grant();
    if (this.#waiters.length > 0) this.#timer = setTimeout(() => this.#recheck(), this.#stallMs);
  }
}
