/**
 * One client connection: reading framed lines, writing replies and events through a bounded queue.
 * @module
 */

import { type ChatEvent, formatEvent } from "../protocol/events.ts";
import { type Frame, LineSplitter } from "../protocol/line_splitter.ts";
import { formatReply } from "../protocol/reply.ts";
import { type FlushScheduler, Outbound } from "./outbound.ts";

const encoder = new TextEncoder();

/** Encodes an event once, for any number of recipients. */
export function encodeEvent(event: ChatEvent): Uint8Array {
  return encoder.encode(formatEvent(event));
}

/** Settings a session needs. */
export interface SessionOptions {
  readonly maxLineBytes: number;
  readonly maxSendQueueBytes: number;
  /** Called once, when the peer stops reading and the queue overflows. */
  readonly onSlowReader: (session: Session) => void;
  /** Coalesces writes of many sessions on one timer. */
  readonly flush?: FlushScheduler;
}

let nextSessionId = 1;

/** A connected client, logged in or not. */
export class Session {
  readonly id: number = nextSessionId++;
  readonly ip: string;
  readonly port: number;
  readonly connectedAt: number = Date.now();
  /** The logged-in user, if any. */
  user: string | undefined;
  /** When the current login happened (epoch ms). */
  loginAt = 0;
  /** UDP port the client reported for peer-to-peer, if any. */
  udpPort: number | undefined;
  /** Last time the client sent a request (epoch ms); receiving is not activity. */
  lastActivity: number = Date.now();

  readonly #conn: Deno.Conn;
  readonly #outbound: Outbound;
  readonly #splitter: LineSplitter;
  readonly #whenClosed = Promise.withResolvers<void>();
  /** Replies wait their turn here, so they leave in request order even when some wait for storage. */
  #replies: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(conn: Deno.Conn, options: SessionOptions) {
    this.#conn = conn;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.ip = addr.hostname;
    this.port = addr.port;
    this.#splitter = new LineSplitter(options.maxLineBytes);
    this.#outbound = new Outbound(
      conn,
      options.maxSendQueueBytes,
      () => options.onSlowReader(this),
      () => this.close(),
      options.flush,
    );
  }

  /** `yoda` once logged in, `127.0.0.1:5555` before. */
  get label(): string {
    return this.user ?? `${this.ip}:${this.port}`;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Waits `ms`, or less if the session closes first. */
  async pause(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const elapsed = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    await Promise.race([elapsed, this.#whenClosed.promise]);
    clearTimeout(timer);
  }

  /** Queues encoded bytes (an event encoded once for many sessions). */
  send(bytes: Uint8Array): boolean {
    return this.#outbound.send(bytes);
  }

  /** Queues a reply. */
  reply(code: number, text: string | readonly string[]): void {
    this.#outbound.send(encoder.encode(formatReply(code, text)));
  }

  /** Runs `task` after every reply queued before it (it sends the next reply). */
  inTurn(task: () => Promise<void>): void {
    this.#replies = this.#replies.then(task);
  }

  /** Resolves when every queued reply has gone out. */
  repliesSent(): Promise<void> {
    return this.#replies;
  }

  /** Queues an event for this session only. */
  event(event: ChatEvent): void {
    this.#outbound.send(encodeEvent(event));
  }

  /**
   * Reads the connection until it ends, handing each frame to `onFrame` and waiting for it before
   * reading on, so requests are answered in order and a busy client is paced by TCP.
   */
  async readFrames(onFrame: (frame: Frame) => Promise<void>): Promise<void> {
    // Chat lines are short; a small buffer per connection keeps thousands of sessions cheap.
    const buffer = new Uint8Array(2 * 1024);
    while (!this.#closed) {
      // One frame at a time: a handler may switch to raw bytes (readRaw) after its line.
      for (let frame = this.#splitter.next(); frame; frame = this.#splitter.next()) {
        if (this.#closed) return;
        await onFrame(frame);
      }
      const n = await this.#read(buffer);
      if (n === null) return;
      this.#splitter.feed(buffer.subarray(0, n));
    }
  }

  /**
   * Reads exactly `size` raw bytes that follow the current line (an upload), handing them to
   * `onChunk` in order; bytes beyond them go back to line reading.
   *
   * @throws {Deno.errors.UnexpectedEof} when the connection ends first.
   */
  async readRaw(size: number, onChunk: (bytes: Uint8Array) => Promise<void>): Promise<void> {
    let remaining = size;
    const take = async (bytes: Uint8Array) => {
      const used = bytes.subarray(0, Math.min(remaining, bytes.length));
      if (used.length > 0) await onChunk(used);
      remaining -= used.length;
      if (used.length < bytes.length) this.#splitter.feed(bytes.subarray(used.length));
      this.lastActivity = Date.now();
    };
    await take(this.#splitter.takeBuffered());
    const buffer = new Uint8Array(64 * 1024);
    while (remaining > 0) {
      const n = await this.#read(buffer);
      if (n === null) {
        throw new Deno.errors.UnexpectedEof(`Connection ended ${remaining} bytes before the end`);
      }
      await take(buffer.subarray(0, n));
    }
  }

  /** Writes `header` and then whatever `stream` produces, with nothing else in between. */
  sendExclusive(
    header: Uint8Array,
    stream: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    return this.#outbound.exclusive(async (write) => {
      await write(header);
      await stream(write);
    });
  }

  async #read(buffer: Uint8Array): Promise<number | null> {
    try {
      return await this.#conn.read(buffer);
    } catch {
      return null; // reset by peer, or closed by us
    }
  }

  /**
   * Closes the connection. With `graceful`, queued bytes are written first (bounded by
   * `graceMs`). Idempotent.
   */
  async close(graceful = false, graceMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#whenClosed.resolve();
    this.#outbound.close();
    if (graceful) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
      await Promise.race([this.#outbound.flushed(), timeout]);
      clearTimeout(timer);
    }
    this.#outbound.close(true);
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer side
    }
  }
}
