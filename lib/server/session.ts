/**
 * One client connection: reading framed lines, writing replies and events through a bounded queue.
 * @module
 */

import { type ChatEvent, formatEvent } from "../protocol/events.ts";
import { type Frame, LineSplitter } from "../protocol/line_splitter.ts";
import { formatReply } from "../protocol/reply.ts";
import { Outbound } from "./outbound.ts";

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
    );
  }

  /** `yoda` once logged in, `127.0.0.1:5555` before. */
  get label(): string {
    return this.user ?? `${this.ip}:${this.port}`;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Queues encoded bytes (an event encoded once for many sessions). */
  send(bytes: Uint8Array): boolean {
    return this.#outbound.send(bytes);
  }

  /** Queues a reply. */
  reply(code: number, text: string | readonly string[]): void {
    this.#outbound.send(encoder.encode(formatReply(code, text)));
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
    const buffer = new Uint8Array(16 * 1024);
    while (!this.#closed) {
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch {
        return; // reset by peer, or closed by us
      }
      if (n === null) return;
      for (const frame of this.#splitter.push(buffer.subarray(0, n))) {
        if (this.#closed) return;
        await onFrame(frame);
      }
    }
  }

  /** Resolves when what is queued has been written. */
  flushed(): Promise<void> {
    return this.#outbound.flushed();
  }

  /**
   * Closes the connection. With `graceful`, queued bytes are written first (bounded by
   * `graceMs`). Idempotent.
   */
  async close(graceful = false, graceMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
