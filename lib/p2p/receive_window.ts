/**
 * The receiver's side of the reliable transfer, without I/O: puts chunks back in order, drops
 * duplicates and chunks too far ahead, and builds acknowledgements with SACK bits.
 * @module
 */

import { SACK_BITS } from "./packet.ts";

/** Reassembles `total` chunks. */
export class ReceiveWindow {
  readonly total: number;
  readonly #maxAhead: number;
  readonly #pending = new Map<number, Uint8Array>();
  #next = 0;
  #duplicates = 0;

  /** @param maxAhead chunks buffered past the first missing one (bounds memory) */
  constructor(total: number, maxAhead = 2048) {
    this.total = total;
    this.#maxAhead = maxAhead;
  }

  /** Every chunk below this has been handed out in order. */
  get next(): number {
    return this.#next;
  }

  get complete(): boolean {
    return this.#next >= this.total;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  /** Chunks held out of order. */
  get buffered(): number {
    return this.#pending.size;
  }

  /**
   * Takes a chunk; returns the chunks now ready to write, in order (possibly none). Duplicates,
   * chunks past the end and chunks too far ahead are dropped.
   */
  accept(seq: number, data: Uint8Array): Uint8Array[] {
    if (seq >= this.total || seq >= this.#next + this.#maxAhead) return [];
    if (seq < this.#next || this.#pending.has(seq)) {
      this.#duplicates++;
      return [];
    }
    this.#pending.set(seq, data);
    const ready: Uint8Array[] = [];
    for (let chunk = this.#pending.get(this.#next); chunk; chunk = this.#pending.get(this.#next)) {
      this.#pending.delete(this.#next++);
      ready.push(chunk);
    }
    return ready;
  }

  /** The acknowledgement to send: cumulative point and which later chunks are held. */
  ack(): { next: number; sack: bigint } {
    let sack = 0n;
    if (this.#pending.size > 0) {
      for (let i = 0; i < SACK_BITS; i++) {
        if (this.#pending.has(this.#next + 1 + i)) sack |= 1n << BigInt(i);
      }
    }
    return { next: this.#next, sack };
  }
}
