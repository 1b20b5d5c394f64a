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
}

/** See the module documentation. */
export class WriteGate {
  readonly #slots: number;
  readonly #stallMs: number;
  readonly #now: () => number;
  /** Writes in flight, oldest first. */
  readonly #holders = new Set<WriteTicket>();
  #waiters: ((ticket: WriteTicket) => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(slots: number, stallMs: number, now: () => number = () => performance.now()) {
    this.#slots = slots;
    this.#stallMs = stallMs;
    this.#now = now;
  }

  /** Writes in flight that count against the cap. */
  get inFlight(): number {
    return this.#holders.size;
  }

  /** Writes waiting for a place. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** A place for one write: at once when one is free, else a promise of one, first come first. */
  enter(): WriteTicket | Promise<WriteTicket> {
    if (this.#holders.size >= this.#slots) this.#evictStalled();
    if (this.#holders.size < this.#slots && this.#waiters.length === 0) return this.#take();
    const place = new Promise<WriteTicket>((resolve) => this.#waiters.push(resolve));
    this.#timer ??= setTimeout(() => this.#recheck(), this.#stallMs);
    return place;
  }

  /** Gives a place back once its write has completed (or failed). */
  leave(ticket: WriteTicket): void {
    if (ticket.detached) return;
    this.#holders.delete(ticket);
    this.#grant();
  }

  #take(): WriteTicket {
    const ticket: WriteTicket = { since: this.#now(), detached: false };
    this.#holders.add(ticket);
    return ticket;
  }

  #grant(): void {
    while (this.#waiters.length > 0 && this.#holders.size < this.#slots) {
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
    for (const ticket of this.#holders) {
      if (ticket.since > limit) break;
      ticket.detached = true;
      this.#holders.delete(ticket);
    }
  }

  /** Runs while writes wait and none completes: frees the places of stalled ones. */
  #recheck(): void {
    this.#timer = undefined;
    this.#evictStalled();
    this.#grant();
    if (this.#waiters.length > 0) this.#timer = setTimeout(() => this.#recheck(), this.#stallMs);
  }
}
