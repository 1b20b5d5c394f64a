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
 *
 * Writes the kernel takes at once complete at once, so a long fan-out runs as one chain of
 * microtasks in which no socket is read (see `socket_poll.ts`). After `perTurn` writes started
 * without a break, the gate waits for a turn of the event loop that polls the sockets, then goes
 * on: a sender's next line is read within a few hundred writes, not after all of them.
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

/** How a {@linkcode WriteGate} is set up. */
export interface WriteGateOptions {
  /** Writes in flight at most. */
  slots: number;
  /** A write in flight for longer than this stops counting against the cap (its peer stalled). */
  stallMs: number;
  /** Writes started, at most, before the gate waits for {@linkcode turn}; Infinity: never. */
  perTurn?: number;
  /** Resolves after a turn of the event loop that polled the sockets (`SocketPoll.wait`). */
  turn?: () => Promise<void>;
  /**
   * The clock stalls are timed by. `Date.now` by default: it costs less than `performance.now()`,
   * which is an op call per write, and a jump of the wall clock only makes one stall check early
   * or late.
   */
  now?: () => number;
}

/** See the module documentation. */
export class WriteGate {
  readonly #slots: number;
  readonly #stallMs: number;
  readonly #perTurn: number;
  readonly #turn: () => Promise<void>;
  readonly #now: () => number;
  /** Writes started since the gate last waited for a turn of the event loop. */
  #startedSinceTurn = 0;
  #waitingForTurn = false;
  /** When the turn awaited now was asked for, and how many turns were asked for so far. */
  #turnSince = 0;
  #turns = 0;
  /** Writes in flight that count against the cap. */
  #counted = 0;
  /** Writes started since the gate was made. */
  #started = 0;
  /**
   * Tickets given out, oldest first, from `#head` on; those given back are dropped from the front
   * as they reach it. An array rather than a set: a fan-out takes and gives back a ticket per
   * write, and the set's hashing showed in profiles.
   */
  #tickets: WriteTicket[] = [];
  #head = 0;
  #waiters: ((ticket: WriteTicket) => void)[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: WriteGateOptions) {
    this.#slots = options.slots;
    this.#stallMs = options.stallMs;
    this.#perTurn = options.perTurn ?? Infinity;
    this.#turn = options.turn ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
    this.#now = options.now ?? Date.now;
  }

  /** Writes in flight that count against the cap. */
  get inFlight(): number {
    return this.#counted;
  }

  /** Writes started so far: how busy the server's output has been. */
  get started(): number {
    return this.#started;
  }

  /** Writes waiting for a place. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** A place for one write: at once when one is free, else a promise of one, first come first. */
  enter(): WriteTicket | Promise<WriteTicket> {
    if (this.#counted >= this.#slots) this.#evictStalled();
    if (this.#counted < this.#slots && this.#waiters.length === 0 && this.#mayStart()) {
      return this.#take();
    }
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

  /** False when `perTurn` writes have started since the last turn: a turn is awaited first. */
  #mayStart(): boolean {
    if (this.#startedSinceTurn < this.#perTurn) return true;
    if (!this.#waitingForTurn) {
      this.#waitingForTurn = true;
      this.#turnSince = this.#now();
      const turn = ++this.#turns;
      void this.#turn().then(() => {
        if (turn !== this.#turns || !this.#waitingForTurn) return; // given up on meanwhile
        this.#waitingForTurn = false;
        this.#startedSinceTurn = 0;
        this.#grant();
      });
    }
    return false;
  }

  #take(): WriteTicket {
    this.#started++;
    this.#startedSinceTurn++;
    const ticket: WriteTicket = { since: this.#now(), detached: false, left: false };
    this.#tickets.push(ticket);
    this.#counted++;
    // A stalled write at the front keeps every later ticket in the list, given back or not; when
    // the list grows past a few rounds, stalled ones are let go, so it holds `stallMs` of writes.
    if (this.#tickets.length - this.#head > 4 * this.#slots) this.#evictStalled();
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
    while (this.#waiters.length > 0 && this.#counted < this.#slots && this.#mayStart()) {
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

  /**
   * Runs every `stallMs` while writes wait: frees the places of stalled writes, and gives up on a
   * turn of the event loop that has not come.
   */
  #recheck(): void {
    this.#timer = undefined;
    this.#evictStalled();
    // A turn awaited all this while will not come (its datagram was lost): go on without it.
    if (this.#waitingForTurn && this.#now() - this.#turnSince >= this.#stallMs) {
      this.#waitingForTurn = false;
      this.#startedSinceTurn = 0;
    }
    this.#grant();
    if (this.#waiters.length > 0) this.#timer = setTimeout(() => this.#recheck(), this.#stallMs);
  }
}
