/**
 * A typed client of the labchat protocol: requests get their replies in order, events arrive
 * separately. Knows nothing of terminals, so scripts and tests use it directly.
 * @module
 */

import { isEventCode } from "../protocol/codes.ts";
import { type ChatEvent, parseEvent } from "../protocol/events.ts";
import { LineSplitter } from "../protocol/line_splitter.ts";
import { parseReplyLine } from "../protocol/reply.ts";

/** A reply as the client sees it. */
export interface ChatReply {
  readonly code: number;
  /** Every line's text; one entry for a single-line reply. */
  readonly lines: readonly string[];
  /** The last line's text (the summary of a multi-line reply). */
  readonly text: string;
  /** 2xx or 3xx. */
  readonly ok: boolean;
}

/** The connection ended while a request waited, or a request was made after it ended. */
export class ConnectionClosedError extends Error {
  constructor(message = "Connection closed by the server") {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

/** Where to connect. */
export interface ConnectOptions {
  readonly hostname?: string;
  readonly port: number;
  /** Longest line accepted from the server (default 1 MiB: HISTORY replies are long). */
  readonly maxLineBytes?: number;
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

const encoder = new TextEncoder();

/**
 * One connection to a labchat server.
 *
 * @example Usage
 * ```ts ignore
 * import { ChatConnection } from "./chat_connection.ts";
 * await using chat = await ChatConnection.connect({ hostname: "127.0.0.1", port: 4000 });
 * const reply = await chat.request("LOGIN yoda wise@!man");
 * console.log(reply.code, reply.text);
 * for await (const event of chat.events()) console.log(event);
 * ```
 */
export class ChatConnection implements AsyncDisposable {
  readonly #conn: Deno.Conn;
  readonly #pending: Waiter<ChatReply>[] = [];
  readonly #events: ChatEvent[] = [];
  readonly #eventWaiters: Waiter<ChatEvent | undefined>[] = [];
  #partial: string[] = [];
  #closed = false;
  #closeReason: string | undefined;
  readonly #done: Promise<void>;

  /** Connects over TCP. */
  static async connect(options: ConnectOptions): Promise<ChatConnection> {
    const conn = await Deno.connect({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port,
    });
    return new ChatConnection(conn, options.maxLineBytes ?? 1024 * 1024);
  }

  /** Wraps an open connection (TCP or TLS). */
  constructor(conn: Deno.Conn, maxLineBytes = 1024 * 1024) {
    this.#conn = conn;
    this.#done = this.#readLoop(new LineSplitter(maxLineBytes));
  }

  /** Whether the connection has ended. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection has ended, for whatever reason. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Sends one request line and resolves with its reply. */
  request(line: string): Promise<ChatReply> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError(this.#closeReason));
    const reply = new Promise<ChatReply>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
    });
    this.writeRaw(encoder.encode(line.replace(/[\r\n]+/g, " ") + "\n")).catch(() => {
      // the read loop notices the closed socket and rejects the pending reply
    });
    return reply;
  }

  /** Writes raw bytes (tests of hostile input; binary payloads). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** The next event, or `undefined` once the connection has ended and no events are left. */
  nextEvent(): Promise<ChatEvent | undefined> {
    const queued = this.#events.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.#eventWaiters.push({ resolve, reject }));
  }

  /**
   * Waits for the first event that `match` accepts, skipping others, within `timeoutMs`.
   *
   * @throws {Error} on timeout or when the connection ends first.
   */
  async waitForEvent(
    match: (event: ChatEvent) => boolean,
    timeoutMs = 5000,
  ): Promise<ChatEvent> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`No matching event within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      while (true) {
        const event = await Promise.race([this.nextEvent(), timeout]);
        if (event === undefined) throw new ConnectionClosedError(this.#closeReason);
        if (match(event)) return event;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Events as they arrive, until the connection ends. */
  async *events(): AsyncGenerator<ChatEvent> {
    while (true) {
      const event = await this.nextEvent();
      if (event === undefined) return;
      yield event;
    }
  }

  /** Events received and not yet taken. */
  get queuedEvents(): readonly ChatEvent[] {
    return this.#events;
  }

  async #readLoop(splitter: LineSplitter): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const frame of splitter.push(buffer.subarray(0, n))) {
          if ("line" in frame) this.#onLine(frame.line);
        }
      }
    } catch (error) {
      this.#closeReason = error instanceof Error ? error.message : String(error);
    } finally {
      this.#finish();
    }
  }

  #onLine(line: string): void {
    const parsed = parseReplyLine(line);
    if (!parsed) return; // not protocol: ignore rather than desynchronise
    if (this.#partial.length === 0 && isEventCode(parsed.code) && !parsed.more) {
      this.#pushEvent(parseEvent(parsed.code, parsed.text));
      return;
    }
    this.#partial.push(parsed.text);
    if (parsed.more) return;
    const lines = this.#partial;
    this.#partial = [];
    const reply: ChatReply = {
      code: parsed.code,
      lines,
      text: parsed.text,
      ok: parsed.code >= 200 && parsed.code < 400,
    };
    const waiter = this.#pending.shift();
    // A reply nobody asked for (a refusal sent on connect) is surfaced as an event.
    if (waiter) waiter.resolve(reply);
    else this.#pushEvent({ type: "unknown", code: reply.code, text: reply.text });
  }

  #pushEvent(event: ChatEvent): void {
    const waiter = this.#eventWaiters.shift();
    if (waiter) waiter.resolve(event);
    else this.#events.push(event);
  }

  #finish(): void {
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    const error = new ConnectionClosedError(this.#closeReason);
    for (const waiter of this.#pending.splice(0)) waiter.reject(error);
    for (const waiter of this.#eventWaiters.splice(0)) waiter.resolve(undefined);
  }

  /** Closes the connection (without QUIT) and waits for the reader to stop. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      try {
        this.#conn.close();
      } catch {
        // already closed
      }
    }
    await this.#done;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
