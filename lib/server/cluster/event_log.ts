/**
 * Redis streams as logs a node reads in order: appending with a bounded length, and a reader
 * that blocks on several streams at once on a connection of its own and carries on from the last
 * entry it handled after a lost connection, so nothing appended meanwhile is missed.
 * @module
 */

import { destroyQuietly, isConnectionError, type RedisClient } from "../../store/redis_client.ts";

/** Entries one read takes at most. */
const READ_COUNT = 256;

/** The arguments of an XADD of one JSON entry, trimming the stream to about `length` entries. */
export function appendCommand(key: string, length: number, json: string): string[] {
  return ["XADD", key, "MAXLEN", "~", String(length), "*", "d", json];
}

/**
 * A stream to read: its key, what to do with each entry's JSON (and its ID), and how long it is
 * kept.
 */
export interface LogStream {
  readonly key: string;
  readonly onEntry: (json: string, id: string) => void;
  /** The stream's length bound, for the message when entries were trimmed before being read. */
  readonly length: number;
  /** Read what the stream holds at start too (by default reading starts after it). */
  readonly fromStart?: boolean;
}

/** Reads streams in order until closed; see the module documentation. */
export class EventLogReader {
  readonly #reader: RedisClient;
  readonly #streams: readonly LogStream[];
  readonly #log: (line: string) => void;
  /** The last entry handled of each stream, by key. */
  readonly #lastIds = new Map<string, string>();
  /**
   * Per stream: entries added in its lifetime when reading started, and entries read since (to
   * count those trimmed before they were read; Redis 7 says how many were ever added).
   */
  readonly #counts = new Map<string, { base: number; read: number }>();
  #reading: Promise<void> = Promise.resolve();
  #closed = false;

  /** `reader` is owned from now on: blocking reads need a connection of their own. */
  constructor(reader: RedisClient, streams: readonly LogStream[], log: (line: string) => void) {
    this.#reader = reader;
    this.#streams = streams;
    this.#log = log;
  }

  /** Starts reading after what each stream holds now (from its start, when it says so). */
  async start(): Promise<void> {
    for (const stream of this.#streams) {
      const info = await this.#info(stream.key);
      const added = Number(info.get("entries-added") ?? 0);
      if (stream.fromStart) {
        this.#lastIds.set(stream.key, "0-0");
        this.#counts.set(stream.key, { base: added - Number(info.get("length") ?? 0), read: 0 });
      } else {
        this.#lastIds.set(stream.key, String(info.get("last-generated-id") ?? "0-0"));
        this.#counts.set(stream.key, { base: added, read: 0 });
      }
    }
    this.#reading = this.#loop();
  }

  /** XINFO STREAM as a map; empty when the stream does not exist (yet). */
  async #info(key: string): Promise<Map<string, unknown>> {
    const info = await this.#reader.sendCommand(["XINFO", "STREAM", key]).catch(() => null);
    return new Map(fieldsOf(info));
  }

  /**
   * One blocking XREAD after another. A lost connection fails the read; the next one, once Redis
   * is back, continues from the last entry handled.
   */
  async #loop(): Promise<void> {
    let interrupted = false;
    while (!this.#closed) {
      let reply: unknown;
      try {
        if (interrupted) await this.#checkGaps();
        const keys = this.#streams.map((stream) => stream.key);
        const ids = keys.map((key) => this.#lastIds.get(key) ?? "0-0");
        reply = await this.#reader.sendCommand([
          "XREAD",
          "COUNT",
          String(READ_COUNT),
          "BLOCK",
          "0",
          "STREAMS",
          ...keys,
          ...ids,
        ]);
        interrupted = false;
      } catch (error) {
        if (this.#closed) return;
        // The connection logs its loss and its return; anything else is said once.
        if (!isConnectionError(error) && !interrupted) {
          this.#log(`Cannot read the cluster's events: ${error}`);
        }
        interrupted = true;
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      this.#handle(reply);
    }
  }

  /** Hands each entry of an XREAD reply to its stream, in order, streams in the order given. */
  #handle(reply: unknown): void {
    const byKey = new Map(fieldsOf(reply));
    for (const stream of this.#streams) {
      const entries = byKey.get(stream.key);
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) {
        if (!Array.isArray(entry) || !Array.isArray(entry[1])) continue;
        const id = String(entry[0]);
        this.#lastIds.set(stream.key, id);
        const counts = this.#counts.get(stream.key);
        if (counts) counts.read++;
        stream.onEntry(String(entry[1][1] ?? ""), id);
      }
    }
  }

  /**
   * After a lost connection: says so for each stream trimmed past what was read of it. When its
   * oldest entry is newer than the last one read, every entry it holds is unread, and those added
   * but neither read nor held were trimmed unread.
   */
  async #checkGaps(): Promise<void> {
    for (const stream of this.#streams) {
      const info = await this.#info(stream.key);
      const counts = this.#counts.get(stream.key);
      const firstEntry = info.get("first-entry");
      const first = Array.isArray(firstEntry) ? String(firstEntry[0]) : "";
      if (!counts || !info.has("entries-added") || first === "") continue;
      if (compareIds(first, this.#lastIds.get(stream.key) ?? "0-0") <= 0) continue;
      const lost = Number(info.get("entries-added")) - counts.base - counts.read -
        Number(info.get("length") ?? 0);
      if (lost > 0) {
        this.#log(
          `${lost} events in ${stream.key} were lost while this node was away: it keeps ${stream.length} entries`,
        );
      }
    }
  }

  /** Stops reading: the blocked read is cut off with its connection. */
  async close(): Promise<void> {
    this.#closed = true;
    destroyQuietly(this.#reader);
    await this.#reading;
  }
}

/** Orders two stream IDs (`ms-seq`); an unreadable one counts as the start. */
export function compareIds(a: string, b: string): number {
  const parse = (id: string) => {
    const [ms, seq] = /^(\d+)-(\d+)$/.exec(id)?.slice(1) ?? ["0", "0"];
    return [BigInt(ms), BigInt(seq)];
  };
  const [aMs, aSeq] = parse(a);
  const [bMs, bSeq] = parse(b);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/**
 * The name-value pairs of a Redis reply that is a map: XREAD's streams, XINFO's fields. RESP3
 * gives a map (an object or a `Map`, as the client is set up), RESP2 an array of pairs (XREAD)
 * or a flat array (XINFO).
 */
export function fieldsOf(reply: unknown): [string, unknown][] {
  if (reply instanceof Map) return [...reply].map(([name, value]) => [String(name), value]);
  if (Array.isArray(reply)) {
    if (reply.every((item) => Array.isArray(item) && item.length === 2)) {
      return reply.map(([name, value]) => [String(name), value]);
    }
    const pairs: [string, unknown][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1]]);
    return pairs;
  }
  if (reply !== null && typeof reply === "object") return Object.entries(reply);
  return [];
}
