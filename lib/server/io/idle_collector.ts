/**
 * A full garbage collection when the server goes quiet after a burst of work.
 *
 * V8 collects its old generation only when that fills up, and its own collections free the
 * garbage but keep the pages. What a login storm leaves behind (requests, replies and events that
 * lived long enough to be promoted) then stays resident long after the storm: measured after 5000
 * IRC registrations, 23 KiB of RSS per client, 14-15 KiB once collected; after a 5000-client login
 * storm the heap held 5.3 KiB per client while 2.9 were in use (RSS 9.5 against 7.1). Browsers
 * collect in idle time for the same reason. A server has no idle notification, so this watches its
 * own work. It collects when the last tick saw less than `quietWork` (connections, requests and
 * socket writes: a server fanning out a few broadcasts a second to thousands is not idle) and
 * either the heap in use grew by `growthBytes` since the last collection, or, after some work, the
 * heap holds that much (and a quarter of what is in use) beyond what is in use. At most once in
 * `spacingTicks`, unless the heap grew four times that much: each broadcast to thousands leaves
 * megabytes behind, and a server sending one now and then is quiet between them.
 * The collection is V8's memory-reducing one (it compacts and gives pages back): about 200 ms for
 * 75 MiB of heap, 65 ms for 40, at a moment when nobody is waiting for the server.
 *
 * It needs V8's `gc()` (`--expose-gc`, which the launcher passes); without it nothing runs.
 * @module
 */

/** Settings of an {@linkcode IdleCollector}; all but `work` have defaults. */
export interface IdleCollectorOptions {
  /** A count that grows with the server's work (connections, requests and writes so far). */
  readonly work: () => number;
  /** Runs a full collection; default V8's `gc()` where it is exposed. */
  readonly collect?: () => void;
  /** Bytes of the JavaScript heap in use; default `Deno.memoryUsage().heapUsed`. */
  readonly heapUsed?: () => number;
  /** Bytes of the JavaScript heap held; default `Deno.memoryUsage().heapTotal`. */
  readonly heapTotal?: () => number;
  /** Growth of the heap since the last collection that is worth one. Default 4 MiB. */
  readonly growthBytes?: number;
  /** Less work than this in one tick is quiet. Default 10. */
  readonly quietWork?: number;
  /**
   * Ticks after a collection before the next, unless the heap grew by four times `growthBytes`
   * meanwhile. Default 10 (a second): a server sending a broadcast to thousands now and then is
   * quiet between them, and each leaves megabytes behind; it collects once a second at most.
   */
  readonly spacingTicks?: number;
  /** How often to look, in milliseconds; 0 never looks by itself (tests call tick). Default 100. */
  readonly intervalMs?: number;
  /** Told the heap in use before and after each collection, and how long it took. */
  readonly onCollected?: (beforeBytes: number, afterBytes: number, ms: number) => void;
}

/** V8's `gc()`, when the runtime was started with `--expose-gc`. */
function exposedGc(): (() => void) | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === "function" ? () => gc({ type: "major", flavor: "last-resort" }) : undefined;
}

/** See the module documentation. */
export class IdleCollector {
  readonly #work: () => number;
  readonly #collect: (() => void) | undefined;
  readonly #heapUsed: () => number;
  readonly #heapTotal: () => number;
  readonly #growthBytes: number;
  readonly #quietWork: number;
  readonly #spacingTicks: number;
  /** Ticks since the last collection. */
  #ticksSince = Infinity;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  readonly #onCollected: (beforeBytes: number, afterBytes: number, ms: number) => void;
  #lastWork: number;
  /** The heap in use after the last collection, ours or V8's (the lowest seen since ours). */
  #baseline: number;
  #collections = 0;
  /** The work count at the last collection. */
  #workCollected: number;

  constructor(options: IdleCollectorOptions) {
    this.#work = options.work;
    this.#collect = options.collect ?? exposedGc();
    this.#heapUsed = options.heapUsed ?? (() => Deno.memoryUsage().heapUsed);
    this.#heapTotal = options.heapTotal ?? (() => Deno.memoryUsage().heapTotal);
    this.#growthBytes = options.growthBytes ?? 4 * 1024 * 1024;
    this.#quietWork = options.quietWork ?? 10;
    this.#spacingTicks = options.spacingTicks ?? 10;
    this.#onCollected = options.onCollected ?? (() => {});
    this.#lastWork = this.#workCollected = this.#work();
    this.#baseline = this.#heapUsed();
    const intervalMs = options.intervalMs ?? 100;
    if (this.#collect !== undefined && intervalMs > 0) {
      this.#timer = setInterval(() => this.tick(), intervalMs);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Whether it can collect at all (V8's `gc()` is exposed, or one was given). */
  get enabled(): boolean {
    return this.#collect !== undefined;
  }

  /** Collections run so far. */
  get collections(): number {
    return this.#collections;
  }

  /** One look: collects when the heap grew enough and the last tick was quiet. */
  tick(): boolean {
    if (this.#collect === undefined) return false;
    const work = this.#work();
    const quiet = work - this.#lastWork < this.#quietWork;
    this.#lastWork = work;
    this.#ticksSince++;
    const used = this.#heapUsed();
    // V8 collected by itself: its result is the new starting point.
    if (used < this.#baseline) this.#baseline = used;
    if (!quiet) return false;
    const growth = used - this.#baseline;
    if (this.#ticksSince < this.#spacingTicks && growth < 4 * this.#growthBytes) return false;
    const grown = growth >= this.#growthBytes;
    // Pages V8 kept after collecting by itself: worth giving back after some work, and when they
    // are a quarter of what is in use (a full collection's pause grows with the heap).
    const held = work - this.#workCollected >= this.#quietWork * 10 &&
      this.#heapTotal() - used >= Math.max(this.#growthBytes, used / 4);
    if (!grown && !held) return false;
    const started = performance.now();
    this.#collect();
    const ms = performance.now() - started;
    this.#collections++;
    this.#ticksSince = 0;
    this.#workCollected = work;
    this.#baseline = this.#heapUsed();
    this.#onCollected(used, this.#baseline, ms);
    return true;
  }

  /** Stops looking. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
