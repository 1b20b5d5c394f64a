/**
 * The line protocol over a TCP (or TLS) socket: framed lines in, replies and events out through
 * a bounded queue, and raw bytes both ways for uploads and downloads.
 * @module
 */

import type { OutboundEvent } from "../../protocol/events.ts";
import { LineSplitter } from "../../protocol/line_splitter.ts";
import { formatReply } from "../../protocol/reply.ts";
import type { Client, ClientOutput } from "../client.ts";
import type { FrameSink } from "../client_host.ts";
import { type FlushScheduler, Outbound, type OutboundOwner } from "../io/outbound.ts";
import { ReadBuffer } from "../io/read_buffer.ts";
import { within } from "../io/within.ts";

const encoder = new TextEncoder();
/** An upload's first read; it grows to {@linkcode MAX_RAW_READ_BYTES} while reads fill it. */
const RAW_READ_BYTES = 64 * 1024;
const MAX_RAW_READ_BYTES = 1024 * 1024;

/** Replies larger than this are written directly with back-pressure instead of queued whole. */
const LARGE_REPLY_BYTES = 64 * 1024;

/** Settings of a {@linkcode LineConnection}. */
export interface LineConnectionOptions {
  readonly maxLineBytes: number;
  readonly maxSendQueueBytes: number;
  /**
   * Called once, when the peer stops reading and the queue overflows or a write stalls. One set of
   * options serves every connection of a front end, so it is told which.
   */
  readonly onSlowReader: (connection: LineConnection) => void;
  /** Coalesces writes of many connections on one timer. */
  readonly flush?: FlushScheduler;
  /** A direct write that makes no progress this long means the peer stopped reading. */
  readonly stallMs?: number;
  /** Refuse lines with control characters (the line protocol); IRC keeps its formatting codes. */
  readonly refuseControl?: boolean;
}

/** One TCP connection speaking the line protocol. */
export class LineConnection implements ClientOutput, OutboundOwner {
  readonly rawBytes = true;
  readonly ip: string;
  readonly port: number;
  /** The client this connection serves, once the front end made it. */
  client: Client | undefined;
  readonly #onSlowReader: (connection: LineConnection) => void;
  readonly #conn: Deno.Conn;
  readonly #outbound: Outbound;
  readonly #splitter: LineSplitter;
  /** Made when first asked for (most connections never are): see {@linkcode whenClosed}. */
  #whenClosed: PromiseWithResolvers<void> | undefined;
  #closed = false;

  constructor(conn: Deno.Conn, options: LineConnectionOptions) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.ip = addr.hostname;
    this.port = addr.port;
    this.#splitter = new LineSplitter(options.maxLineBytes, {
      refuseControl: options.refuseControl ?? true,
    });
    this.#onSlowReader = options.onSlowReader;
    this.#outbound = new Outbound(
      conn,
      options.maxSendQueueBytes,
      this,
      options.flush,
      options.stallMs,
    );
  }

  /** The queue overflowed or a write stalled: the peer stopped reading. */
  overflowed(): void {
    this.#onSlowReader(this);
  }

  /** A write failed: the connection is broken. */
  failed(): void {
    void this.close();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection closes. */
  get whenClosed(): Promise<void> {
    this.#whenClosed ??= Promise.withResolvers<void>();
    if (this.#closed) this.#whenClosed.resolve();
    return this.#whenClosed.promise;
  }

  event(event: OutboundEvent): boolean {
    return this.#outbound.send(event.line);
  }

  /** Queues bytes as they are (another protocol's lines); false when the connection is gone. */
  sendBytes(bytes: Uint8Array): boolean {
    return this.#outbound.send(bytes);
  }

  /** Writes what is queued now rather than at the flush timer (an answer someone waits for). */
  flushNow(): void {
    this.#outbound.kick();
  }

  /** Resolves once the queue is at most half full: paced sending of a long backlog. */
  waitForRoom(): Promise<void> {
    return this.#outbound.waitForSpace(this.#outbound.maxBytes / 2);
  }

  async eventsPaced(events: Iterable<OutboundEvent>): Promise<void> {
    const roomy = this.#outbound.maxBytes / 2;
    for (const event of events) {
      await this.#outbound.waitForSpace(roomy);
      if (!this.#outbound.send(event.line)) return;
    }
  }

  /**
   * Queues a reply and writes it at once, with the events queued before it (they wait for the
   * flush timer otherwise): someone waits for each reply, events are gathered across clients.
   */
  async reply(code: number, text: string | readonly string[]): Promise<void> {
    const wire = formatReply(code, text);
    if (wire.length <= LARGE_REPLY_BYTES / 3) {
      this.#outbound.send(encoder.encode(wire), true); // at most 3 bytes per UTF-16 unit
      return;
    }
    const bytes = encoder.encode(wire);
    if (bytes.length <= LARGE_REPLY_BYTES) {
      this.#outbound.send(bytes, true);
      return;
    }
    await this.#writeDirect(async (write) => {
      for (let at = 0; at < bytes.length; at += LARGE_REPLY_BYTES) {
        await write(bytes.subarray(at, at + LARGE_REPLY_BYTES));
      }
    });
  }

  stream(
    code: number,
    text: string,
    body: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    return this.#writeDirect(async (write) => {
      await write(encoder.encode(formatReply(code, text)));
      await body(write);
    });
  }

  /** Writes with nothing else in between; a failure breaks the stream, so the connection ends. */
  async #writeDirect(
    work: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    try {
      await this.#outbound.exclusive(work);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Reads the connection until it ends, handing each frame to `sink` and waiting for it before
   * reading on, so requests are handled in order and a busy client is paced by TCP; then tells
   * the sink, from this same async frame (one per connection, not two).
   */
  async readFrames(sink: FrameSink): Promise<void> {
    // Chat lines are short: small reads, unless the client sends in bulk (see read_buffer.ts).
    const buffer = new ReadBuffer();
    let failure: unknown;
    try {
      reading: while (!this.#closed) {
        // One frame at a time: a request may switch to raw bytes (readRaw) after its line.
        for (let frame = this.#splitter.next(); frame; frame = this.#splitter.next()) {
          if (this.#closed) break reading;
          await sink.handle(frame);
        }
        const bytes = buffer.bytes;
        const n = await this.#conn.read(bytes).catch(() => null); // reset, or closed by us
        if (n === null) break;
        this.#splitter.feed(bytes.subarray(0, n)); // copied
        buffer.filled(n);
      }
    } catch (error) {
      failure = error;
    }
    await sink.ended(failure);
  }

  async readRaw(size: number, onChunk: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    let remaining = size;
    const take = async (bytes: Uint8Array) => {
      const used = bytes.subarray(0, Math.min(remaining, bytes.length));
      if (used.length > 0) await onChunk(used);
      remaining -= used.length;
      if (used.length < bytes.length) this.#splitter.feed(bytes.subarray(used.length));
    };
    await take(this.#splitter.takeBuffered());
    // 64 KiB, doubled while reads fill it (bulk), up to 1 MiB: fewer turns and file writes per
    // MiB, while an upload that trickles in costs what it did.
    let buffer = new Uint8Array(Math.min(remaining, RAW_READ_BYTES));
    while (remaining > 0) {
      const n = await this.#conn.read(buffer).catch(() => null); // reset, or closed by us
      if (n === null) {
        throw new Deno.errors.UnexpectedEof(`Connection ended ${remaining} bytes before the end`);
      }
      await take(buffer.subarray(0, n));
      if (n === buffer.length && buffer.length < MAX_RAW_READ_BYTES && remaining > n) {
        buffer = new Uint8Array(Math.min(buffer.length * 2, MAX_RAW_READ_BYTES));
      }
    }
  }

  /** Waits `ms`, or less if the connection closes first. */
  pause(ms: number): Promise<void> {
    return within(this.whenClosed, ms);
  }

  flushed(): Promise<void> {
    return this.#outbound.flushed();
  }

  async close(graceful = false, graceMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#whenClosed?.resolve();
    this.#outbound.close();
    if (graceful) await within(this.#outbound.flushed(), graceMs);
    this.#outbound.close(true);
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer side
    }
  }
}
