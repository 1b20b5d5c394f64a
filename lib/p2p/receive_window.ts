/**
 * The receiver's side of the reliable transfer, without I/O: chunks are copied straight into a
 * ring of slots (no allocation per datagram), put back in order, handed out for writing as
 * contiguous runs, and acknowledged with a bitmap of what arrived past the first gap.
 * @module
 */

import { MAX_ACK_BITMAP_BYTES } from "./packet.ts";

/** Reassembles the chunks of a file of `size` bytes. */
export class ReceiveWindow {
  readonly total: number;
  readonly chunkSize: number;
  readonly #size: number;
  readonly #span: number;
  readonly #ring: Uint8Array;
  readonly #have: Uint8Array;
  /** Every chunk below this has arrived. */
  #next: number;
  /** Every chunk below this has been handed out and released (written). */
  #released: number;
  /** Chunks below this have been handed out by {@linkcode takeReady}. */
  #taken: number;
  #highest: number;
  #duplicates = 0;
  #heldBack = false;
  #filled = 0;
  #accepted = 0;

  /**
   * @param span chunks buffered past the first one not yet written (bounds memory)
   * @param firstChunk chunks below this are already on disk (a resumed transfer)
   */
  constructor(size: number, chunkSize: number, span = 4096, firstChunk = 0) {
    this.#size = size;
    this.chunkSize = chunkSize;
    this.total = Math.ceil(size / chunkSize);
    this.#span = span;
    this.#ring = new Uint8Array(span * chunkSize);
    this.#have = new Uint8Array(span);
    const first = Math.min(this.total, Math.max(0, firstChunk));
    this.#next = this.#released = this.#taken = first;
    this.#highest = first - 1;
  }

  /** Every chunk below this has arrived. */
  get next(): number {
    return this.#next;
  }

  /** The highest chunk that has arrived (-1 before any). */
  get highest(): number {
    return this.#highest;
  }

  get complete(): boolean {
    return this.#next >= this.total;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  /** Whether the last {@linkcode ack} told less than what has arrived in order. */
  get heldBack(): boolean {
    return this.#heldBack;
  }

  /** Chunks that arrived after a later one had: the holes loss left, filled by resends. */
  get filled(): number {
    return this.#filled;
  }

  /** Chunks accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Bytes in chunk `seq` (the last one may be short). */
  lengthOf(seq: number): number {
    return seq === this.total - 1 ? this.#size - seq * this.chunkSize : this.chunkSize;
  }

  /**
   * Takes a chunk, copying it. Returns false for duplicates, chunks past the end or too far
   * ahead, and chunks of the wrong length.
   */
  accept(seq: number, data: Uint8Array): boolean {
    if (seq >= this.total || data.length !== this.lengthOf(seq)) return false;
    if (seq >= this.#released + this.#span) return false;
    const slot = seq % this.#span;
    if (seq < this.#next || this.#have[slot]) {
      this.#duplicates++;
      return false;
    }
    this.#ring.set(data, slot * this.chunkSize);
    this.#have[slot] = 1;
    this.#accepted++;
    if (seq < this.#highest) this.#filled++;
    else this.#highest = seq;
    // Never past the ring: with every slot full, the slot after the last is the first one's,
    // still marked for the chunk a whole lap back.
    const end = Math.min(this.total, this.#released + this.#span);
    while (this.#next < end && this.#have[this.#next % this.#span]) this.#next++;
    return true;
  }

  /** Arrived, in-order chunks not yet handed out. */
  get readyCount(): number {
    return this.#next - this.#taken;
  }

  /**
   * Hands out the in-order chunks not yet taken, as at most two views of the ring (it wraps).
   * They stay valid until {@linkcode release}d.
   */
  takeReady(): Uint8Array[] {
    const views: Uint8Array[] = [];
    while (this.#taken < this.#next) {
      const slot = this.#taken % this.#span;
      const count = Math.min(this.#next - this.#taken, this.#span - slot);
      const last = this.#taken + count - 1;
      const bytes = (count - 1) * this.chunkSize + this.lengthOf(last);
      views.push(this.#ring.subarray(slot * this.chunkSize, slot * this.chunkSize + bytes));
      this.#taken += count;
    }
    return views;
  }

  /** Frees the slots of every chunk taken so far, once written. */
  release(): void {
    for (; this.#released < this.#taken; this.#released++) {
      this.#have[this.#released % this.#span] = 0;
    }
  }

  /**
   * The acknowledgement to send: the cumulative point and a bitmap of later arrivals. A sender
   * goes at most `senderSpan` chunks past the point it is told, so the point told stops where
   * that would run past the ring (flow control): while the disk lags behind the network, the
   * sender waits for the writes instead of sending what would be refused and sent again. The
   * point then moves on as chunks are released ({@linkcode heldBack} says whether to tell it).
   */
  ack(senderSpan = 0): { next: number; received: Uint8Array } {
    const roomy = senderSpan <= 0 || this.#released + this.#span >= this.total;
    const limit = roomy ? Infinity : this.#released + this.#span - senderSpan;
    this.#heldBack = this.#next > limit;
    if (this.#heldBack) return { next: limit, received: new Uint8Array(0) };
    const bits = Math.min(this.#highest - this.#next, MAX_ACK_BITMAP_BYTES * 8);
    if (bits <= 0) return { next: this.#next, received: new Uint8Array(0) };
    const received = new Uint8Array(Math.ceil(bits / 8));
    for (let i = 0; i < bits; i++) {
      if (this.#have[(this.#next + 1 + i) % this.#span]) received[i >> 3] |= 1 << (i & 7);
    }
    return { next: this.#next, received };
  }
}
