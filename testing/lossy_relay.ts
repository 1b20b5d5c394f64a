/**
 * A UDP relay between two peers that drops, duplicates and reorders datagrams, for tests.
 * Peer A is told B lives at `portForB` and B that A lives at `portForA`; each side then sees the
 * other's datagrams arrive from the address it was told.
 * @module
 */

/** How bad the link is. */
export interface LinkFaults {
  readonly drop: number;
  readonly duplicate: number;
  /** Each datagram is held up to this long, so later ones overtake it. */
  readonly maxDelayMs: number;
  readonly seed?: number;
}

/** Counts of what the relay did. */
export interface RelayStats {
  forwarded: number;
  dropped: number;
  duplicated: number;
}

export class LossyRelay implements AsyncDisposable {
  readonly #forA: Deno.DatagramConn; // stands for A: B sends here
  readonly #forB: Deno.DatagramConn; // stands for B: A sends here
  readonly stats: RelayStats = { forwarded: 0, dropped: 0, duplicated: 0 };
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #loops: Promise<void>[];
  #seed: number;
  #closed = false;

  constructor(aPort: number, bPort: number, faults: LinkFaults) {
    this.#forA = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    this.#forB = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    this.#seed = faults.seed ?? 1;
    // Datagrams from A (arriving at forB) go to B from forA, and the other way round.
    this.#loops = [
      this.#pump(this.#forB, this.#forA, bPort, faults),
      this.#pump(this.#forA, this.#forB, aPort, faults),
    ];
  }

  /** The port B should believe A is on. */
  get portForA(): number {
    return (this.#forA.addr as Deno.NetAddr).port;
  }

  /** The port A should believe B is on. */
  get portForB(): number {
    return (this.#forB.addr as Deno.NetAddr).port;
  }

  #random(): number {
    // Deterministic (seeded) so a failure can be replayed.
    this.#seed = (this.#seed * 1103515245 + 12345) & 0x7fffffff;
    return this.#seed / 0x7fffffff;
  }

  async #pump(from: Deno.DatagramConn, out: Deno.DatagramConn, toPort: number, faults: LinkFaults) {
    const target: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: toPort };
    while (!this.#closed) {
      let bytes: Uint8Array;
      try {
        [bytes] = await from.receive();
      } catch {
        return;
      }
      if (this.#random() < faults.drop) {
        this.stats.dropped++;
        continue;
      }
      const copies = this.#random() < faults.duplicate ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let i = 0; i < copies; i++) {
        if (faults.maxDelayMs === 0) {
          // No reordering asked for: forward at once (a timer per datagram caps the relay).
          this.stats.forwarded++;
          await out.send(bytes, target).catch(() => {});
          continue;
        }
        const delay = this.#random() * faults.maxDelayMs;
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          if (this.#closed) return;
          this.stats.forwarded++;
          out.send(bytes, target).catch(() => {});
        }, delay);
        this.#timers.add(timer);
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#forA.close();
    this.#forB.close();
    await Promise.all(this.#loops);
  }
}
