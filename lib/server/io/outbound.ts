/**
 * A session's bounded outbound queue, drained by its own writer so a fan-out never waits on one
 * slow socket.
 * @module
 */

import { SocketPoll } from "./socket_poll.ts";
import { WriteGate } from "./write_gate.ts";

/** Largest write handed to the socket at once; queued chunks are coalesced up to it. */
const COALESCE_BYTES = 64 * 1024;
/**
 * A chunk this large goes to the socket by itself rather than copied into a joined write: the
 * system call it saves is cheap next to the copy. A login storm's presence batch (up to 40 KiB of
 * JOIN lines for 1000 IRC logins, cut around each recipient's own JOIN) was copied once per
 * recipient: garbage that stayed resident after the storm (1000 IRC clients joining `#lab`: 33 KiB
 * per client once collected, 19.5-23 with 16 KiB here, 8-9 with 4 KiB).
 */
const WRITE_ALONE_BYTES = 4 * 1024;
/** Runs of joined chunks remembered before the memory of them starts afresh. */
const MAX_JOINS_KEPT = 4096;

/** Something with queued output to write out (a TCP or a WebSocket connection's queue). */
export interface Flushable {
  /** Starts writing what is queued. */
  kick(): void;
}

/**
 * What the connections of one server share on the way out: one timer that drains every queue, so
 * events queued within a few milliseconds reach each socket in one write; the gate that keeps the
 * writes in flight within what Deno completes per turn; and the joined runs of chunks that
 * connections written alike share.
 */
export class FlushScheduler {
  readonly #delayMs: number;
  /**
   * Socket writes in flight across the server, at most 96: three quarters of what Deno completes
   * in one turn of its event loop, leaving the rest for reads; and after 96 writes started, a turn
   * that reads the sockets (see `write_gate.ts`). Fairness costs some throughput: connections are
   * written more often, each with fewer events.
   */
  readonly gate: WriteGate;
  readonly #poll = new SocketPoll();
  #dirty = new Set<Flushable>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /**
   * Chunks joined lately, by their first chunk. A fan-out queues the same chunks for every
   * recipient, so connections written in the same turn usually take the same run of chunks: it
   * is joined once and the one buffer written to each. Weak: a run is forgotten with its chunks.
   * Started afresh every few thousand runs: a WeakMap's table keeps the size a storm grew it to
   * (2 MiB of empty slots after 2000 logins), and only the latest runs are ever found again.
   */
  #joins = new WeakMap<Uint8Array, { parts: Uint8Array[]; joined: Uint8Array }[]>();
  #joinsKept = 0;

  constructor(delayMs: number) {
    this.#delayMs = delayMs;
    this.gate = new WriteGate({
      slots: 96,
      stallMs: 100,
      perTurn: 96,
      turn: () => this.#poll.wait(),
    });
  }

  /**
   * Lets go of the socket the gate's turns use. What is scheduled is flushed now, and anything
   * scheduled later at once: no timer outlives the server.
   */
  close(): void {
    this.#closed = true;
    this.flush();
    this.#poll.close();
  }

  /** Asks for `outbound` to be drained at the next flush (at once once closed). */
  schedule(outbound: Flushable): void {
    if (this.#closed) {
      outbound.kick();
      return;
    }
    this.#dirty.add(outbound);
    this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  /** Drains everything scheduled, now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dirty = this.#dirty;
    this.#dirty = new Set();
    for (const outbound of dirty) outbound.kick();
  }

  /** `parts` joined into one buffer: the same buffer for the same parts, while they are alive. */
  join(parts: Uint8Array[], size: number): Uint8Array {
    const candidates = this.#joins.get(parts[0]);
    const found = candidates?.find((c) =>
      c.parts.length === parts.length && c.parts.every((part, i) => part === parts[i])
    );
    if (found) return found.joined;
    const joined = joinParts(parts, size);
    // The latest few runs starting with this chunk are remembered (later ones grow longer).
    if (!candidates) {
      if (++this.#joinsKept > MAX_JOINS_KEPT) {
        this.#joins = new WeakMap();
        this.#joinsKept = 1;
      }
      this.#joins.set(parts[0], [{ parts, joined }]);
    } else {
      candidates.push({ parts, joined });
      if (candidates.length > 4) candidates.shift();
    }
    return joined;
  }
}

/** One buffer holding `parts` one after another (`size` bytes in all). */
function joinParts(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Something bytes can be written to (a `Deno.Conn`). */
export interface Writable {
  write(bytes: Uint8Array): Promise<number>;
}

/** A direct write that did not complete in time: the peer has stopped reading. */
export class WriteStalledError extends Error {
  constructor(ms: number) {
    super(`The peer has not read anything for ${ms} ms`);
    this.name = "WriteStalledError";
  }
}

/** Who an {@linkcode Outbound} tells when its peer stops reading or a write fails. */
export interface OutboundOwner {
  /** More than the queue's limit waits: the peer is not reading. Called once. */
  overflowed(): void;
  /** A write failed (the connection broke). */
  failed(error: unknown): void;
}

/**
 * Queues bytes for one connection. When more than `maxBytes` wait to be written the peer is not
 * reading: its owner is told once and nothing more is queued.
 */
export class Outbound implements Flushable {
  readonly #sink: Writable;
  readonly #maxBytes: number;
  /** An object, not two closures: thousands of connections each hold one. */
  readonly #owner: OutboundOwner;
  readonly #scheduler: FlushScheduler | undefined;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #paused = false;
  #closed = false;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Senders waiting for the queue to shrink (paced sending). */
  #spaceWaiters: (() => void)[] | undefined;
  readonly #stallMs: number;

  /**
   * @param stallMs a direct write (see {@linkcode exclusive}) that takes longer than this fails
   *   with {@linkcode WriteStalledError}: the peer has stopped reading.
   */
  constructor(
    sink: Writable,
    maxBytes: number,
    owner: OutboundOwner,
    scheduler?: FlushScheduler,
    stallMs = 30_000,
  ) {
    this.#stallMs = stallMs;
    this.#scheduler = scheduler;
    this.#sink = sink;
    this.#maxBytes = maxBytes;
    this.#owner = owner;
  }

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /**
   * Queues bytes; false when the queue is closed or full (the overflow handler has been called).
   * They leave at the next flush, or with `now` at once (the caller gathered them already).
   */
  send(bytes: Uint8Array, now = false): boolean {
    if (this.#closed) return false;
    if (this.#queuedBytes + bytes.length > this.#maxBytes) {
      this.#closed = true;
      this.#drop();
      this.#owner.overflowed();
      return false;
    }
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    if (!this.#writing && !this.#paused) {
      if (this.#scheduler && !now) this.#scheduler.schedule(this);
      else void this.#drain();
    }
    return true;
  }

  /** Bytes that may be queued before the peer counts as not reading. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves once at most `limit` bytes are queued, or the queue is closed. */
  async waitForSpace(limit: number): Promise<void> {
    while (!this.#closed && this.#queuedBytes > limit) {
      if (!this.#writing && !this.#paused) void this.#drain();
      await new Promise<void>((resolve) => (this.#spaceWaiters ??= []).push(resolve));
    }
  }

  #wakeSenders(): void {
    const waiters = this.#spaceWaiters ?? [];
    this.#spaceWaiters = undefined;
    for (const wake of waiters) wake();
  }

  /** Starts writing what is queued, unless a write is already under way. */
  kick(): void {
    if (!this.#writing && !this.#paused && this.#queue.length > 0) void this.#drain();
  }

  /**
   * Writes what is queued so far, then runs `work` with direct, awaited writes to the socket
   * (a download streaming a file). Anything sent meanwhile waits in the queue, within the same
   * cap, so an event can never land inside the stream.
   */
  async exclusive(
    work: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const before = this.#queue.splice(0);
    this.#queuedBytes = 0;
    this.#paused = true;
    try {
      await this.flushed();
      for (const bytes of before) await this.#writeWatched(bytes);
      await work((bytes) => this.#writeWatched(bytes));
    } finally {
      this.#paused = false;
      if (!this.#closed && this.#queue.length > 0 && !this.#writing) void this.#drain();
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#sink.write(bytes.subarray(offset));
  }

  /** A direct write that fails if the peer stops reading for longer than the stall limit. */
  async #writeWatched(bytes: Uint8Array): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WriteStalledError(this.#stallMs)), this.#stallMs);
    });
    try {
      await Promise.race([this.#writeAll(bytes), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when everything queued so far has been written (or the queue was closed). */
  flushed(): Promise<void> {
    // Bytes waiting for the flush timer are written now: someone is waiting for them.
    if (!this.#writing && !this.#paused && this.#queue.length > 0) void this.#drain();
    if (!this.#writing) return Promise.resolve();
    if (!this.#idle) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => resolve = r);
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  /** Stops queueing; what is queued is still written unless `discard` is set. */
  close(discard = false): void {
    this.#closed = true;
    if (discard) this.#drop();
    this.#wakeSenders();
  }

  #drop(): void {
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#wakeSenders();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#paused) {
        // The place comes first, then the bytes: whatever arrived while this connection waited
        // for its turn leaves in the same write.
        const gate = this.#scheduler?.gate;
        let ticket = gate?.enter();
        if (ticket instanceof Promise) ticket = await ticket;
        try {
          if (this.#queue.length === 0 || this.#paused) continue;
          let bytes = this.#take();
          // Written here rather than through #writeAll: one promise less per write on a fan-out.
          for (let n = await this.#sink.write(bytes); n < bytes.length;) {
            bytes = bytes.subarray(n);
            n = await this.#sink.write(bytes);
          }
        } finally {
          if (ticket) gate?.leave(ticket);
        }
        if (this.#spaceWaiters) this.#wakeSenders();
      }
    } catch (error) {
      this.#closed = true;
      this.#drop();
      this.#owner.failed(error);
    } finally {
      this.#writing = false;
      this.#idle?.resolve();
      this.#idle = undefined;
      this.#wakeSenders();
    }
  }

  /**
   * Removes queued chunks up to COALESCE_BYTES and joins them into one write; a chunk of
   * WRITE_ALONE_BYTES or more is written as it is, by itself.
   */
  #take(): Uint8Array {
    const queue = this.#queue;
    const first = queue[0];
    // A fan-out's usual case, one chunk waiting, costs no loop.
    let count = 1;
    let size = first.length;
    if (first.length < WRITE_ALONE_BYTES) {
      while (count < queue.length) {
        const next = queue[count].length;
        if (next >= WRITE_ALONE_BYTES || size + next > COALESCE_BYTES) break;
        size += next;
        count++;
      }
    }
    if (count === 1) {
      queue.shift();
      this.#queuedBytes -= size;
      return first;
    }
    const parts = queue.splice(0, count);
    this.#queuedBytes -= size;
    return this.#scheduler ? this.#scheduler.join(parts, size) : joinParts(parts, size);
  }
}
