/**
 * The sender's side of the reliable transfer, without I/O: which chunks to send or resend and
 * when, from selective acknowledgements, an RTT estimate (RFC 6298) and an AIMD window.
 * @module
 */

import { SACK_BITS } from "./packet.ts";

/** Tuning of the send window. */
export interface SendWindowOptions {
  /** Chunks in flight at the start. */
  readonly initialWindow?: number;
  /** Most chunks in flight. */
  readonly maxWindow?: number;
  /** How far past the first unacknowledged chunk the receiver buffers. */
  readonly maxSpan?: number;
  readonly minRtoMs?: number;
  readonly maxRtoMs?: number;
}

/** The window never shrinks below this: lab links lose packets at random, not from congestion. */
const MIN_WINDOW = 16;

interface InFlight {
  sentAt: number;
  retransmitted: boolean;
}

/** Tracks one transfer of `total` chunks. */
export class SendWindow {
  readonly total: number;
  readonly #acked: Uint8Array;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #maxWindow: number;
  readonly #maxSpan: number;
  readonly #minRto: number;
  readonly #maxRto: number;
  #base = 0;
  #nextNew = 0;
  #cwnd: number;
  #ssthresh: number;
  #srtt: number | undefined;
  #rttvar = 0;
  #rto: number;
  #backoff = 1;
  /** Loss responses happen once per window: until this chunk is acknowledged. */
  #recoveryUntil = -1;
  #retransmissions = 0;
  #ackedCount = 0;
  /** Earliest send time in flight, as of the last scan; timers are scanned at most once a ms. */
  #earliest = Infinity;
  #lastScan = -Infinity;

  constructor(total: number, options: SendWindowOptions = {}) {
    this.total = total;
    this.#acked = new Uint8Array(total);
    this.#cwnd = options.initialWindow ?? MIN_WINDOW;
    this.#maxWindow = options.maxWindow ?? 256;
    this.#ssthresh = this.#maxWindow;
    this.#maxSpan = options.maxSpan ?? 2048;
    this.#minRto = options.minRtoMs ?? 20;
    this.#maxRto = options.maxRtoMs ?? 2000;
    this.#rto = 200;
  }

  /** All chunks acknowledged. */
  get done(): boolean {
    return this.#base >= this.total;
  }

  /** Chunks acknowledged so far. */
  get ackedCount(): number {
    return this.#ackedCount;
  }

  /** Current retransmission timeout, ms. */
  get rto(): number {
    return Math.min(this.#maxRto, this.#rto * this.#backoff);
  }

  /** Smoothed RTT, ms (undefined before the first sample). */
  get srtt(): number | undefined {
    return this.#srtt;
  }

  get window(): number {
    return Math.floor(this.#cwnd);
  }

  get retransmissions(): number {
    return this.#retransmissions;
  }

  /** Chunks to send now: overdue ones first, then new ones while the window allows. */
  due(now: number): number[] {
    const out: number[] = [];
    const rto = this.rto;
    // Scanning every chunk in flight on every ACK would cost O(window) each time: only scan
    // when a timer may have run out (or a chunk was marked lost), and at most once a millisecond.
    if (now - this.#earliest >= rto && now - this.#lastScan >= 1) {
      this.#lastScan = now;
      let timedOut = false;
      let timedOutAgain = false;
      let earliest = Infinity;
      for (const [seq, flight] of this.#inFlight) {
        // Never more resends at once than the window: a burst of them is what overflowed.
        if (now - flight.sentAt >= rto && out.length < Math.max(1, this.window)) {
          out.push(seq);
          if (flight.sentAt !== -Infinity) {
            timedOut = true;
            if (flight.retransmitted) timedOutAgain = true;
          }
        } else {
          earliest = Math.min(earliest, flight.sentAt);
        }
      }
      // Chunks handed out now are sent (and marked) right away.
      this.#earliest = out.length > 0 ? Math.min(earliest, now) : earliest;
      if (timedOut) this.#onTimeout(timedOutAgain);
    }
    const room = Math.max(0, this.window - this.#inFlight.size);
    const limit = Math.min(this.total, this.#base + this.#maxSpan);
    for (let i = 0; i < room && this.#nextNew < limit; i++) out.push(this.#nextNew++);
    return out;
  }

  /** Records that a chunk went out at `now`. */
  markSent(seq: number, now: number): void {
    this.#earliest = Math.min(this.#earliest, now);
    const flight = this.#inFlight.get(seq);
    if (flight) {
      this.#retransmissions++;
      flight.sentAt = now;
      flight.retransmitted = true;
    } else {
      this.#inFlight.set(seq, { sentAt: now, retransmitted: false });
    }
  }

  /**
   * Applies an acknowledgement: all below `next`, plus the SACK bits. Returns chunks newly acked.
   * A chunk still in flight that was sent before one now delivered (beyond a little reordering)
   * is taken as lost and resent at once, as RACK does, instead of waiting for its timer.
   */
  onAck(next: number, sack: bigint, now: number, onAcked?: (seq: number) => void): number {
    let newly = 0;
    let deliveredSentAt = -Infinity;
    const ack = (seq: number) => {
      if (seq >= this.total || this.#acked[seq]) return;
      this.#acked[seq] = 1;
      this.#ackedCount++;
      onAcked?.(seq);
      newly++;
      const flight = this.#inFlight.get(seq);
      if (flight) {
        if (Number.isFinite(flight.sentAt)) {
          deliveredSentAt = Math.max(deliveredSentAt, flight.sentAt);
          // Karn: only chunks sent exactly once give an RTT sample.
          if (!flight.retransmitted) this.#sampleRtt(now - flight.sentAt);
        }
        this.#inFlight.delete(seq);
      }
    };
    for (let seq = this.#base; seq < Math.min(next, this.total); seq++) ack(seq);
    for (let i = 0; i < SACK_BITS; i++) {
      if ((sack >> BigInt(i)) & 1n) ack(next + 1 + i);
    }
    while (this.#base < this.total && this.#acked[this.#base]) this.#base++;
    if (newly > 0) {
      this.#backoff = 1;
      this.#grow(newly);
    }
    // Holes exist only when SACK bits are set; in-order delivery costs no scan. A sequence rule
    // (three later chunks arrived) was tried and resent most chunks twice on a reordering link.
    if (sack !== 0n && deliveredSentAt > -Infinity) {
      const reorderMs = Math.max(2, (this.#srtt ?? 0) / 2);
      let lost = false;
      for (const flight of this.#inFlight.values()) {
        if (Number.isFinite(flight.sentAt) && flight.sentAt + reorderMs < deliveredSentAt) {
          flight.sentAt = -Infinity; // due at once
          flight.retransmitted = true;
          lost = true;
        }
      }
      if (lost) {
        this.#earliest = -Infinity;
        this.#lastScan = -Infinity;
      }
      if (lost && this.#base >= this.#recoveryUntil) this.#reduce();
    }
    return newly;
  }

  /** Milliseconds until the next chunk's timer runs out (or a large value when none is out). */
  nextTimeout(now: number): number {
    if (this.#inFlight.size === 0 || this.#earliest === Infinity) return this.rto;
    return Math.max(1, this.#earliest + this.rto - now);
  }

  #sampleRtt(sample: number): void {
    if (this.#srtt === undefined) {
      this.#srtt = sample;
      this.#rttvar = sample / 2;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - sample);
      this.#srtt = 0.875 * this.#srtt + 0.125 * sample;
    }
    this.#rto = Math.max(this.#minRto, Math.min(this.#maxRto, this.#srtt + 4 * this.#rttvar));
  }

  #grow(newly: number): void {
    for (let i = 0; i < newly; i++) {
      this.#cwnd += this.#cwnd < this.#ssthresh ? 1 : 1 / this.#cwnd;
    }
    this.#cwnd = Math.min(this.#cwnd, this.#maxWindow);
  }

  /** Loss seen through SACK: shrink gently, once per window. */
  #reduce(): void {
    this.#ssthresh = Math.max(MIN_WINDOW, this.#cwnd * 0.7);
    this.#cwnd = this.#ssthresh;
    this.#recoveryUntil = this.#nextNew;
  }

  /**
   * A timer ran out. Once per window, restart from a small window. The timer itself backs off
   * only when a resent chunk is lost again: random loss is not an outage.
   */
  #onTimeout(again: boolean): void {
    if (again) this.#backoff = Math.min(this.#backoff * 2, 64);
    if (this.#base >= this.#recoveryUntil) {
      this.#ssthresh = Math.max(MIN_WINDOW, this.#cwnd / 2);
      this.#cwnd = MIN_WINDOW;
      this.#recoveryUntil = this.#nextNew;
    }
  }
}
