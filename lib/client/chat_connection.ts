/**
 * A typed client of the labchat protocol: requests get their replies in order, events arrive
 * separately. Knows nothing of terminals, so scripts and tests use it directly.
 * @module
 */

import { isEventCode, Reply } from "../protocol/codes.ts";
import { type ChatEvent, parseEvent } from "../protocol/events.ts";
import { LineSplitter } from "../protocol/line_splitter.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { ErrorReason } from "../protocol/protocol_error.ts";
import { parseReplyLine } from "../protocol/reply.ts";
import type { ReplyData } from "../protocol/reply_data.ts";

/** A reply as the client sees it. */
export interface ChatReply {
  readonly code: number;
  /** Every line's text; one entry for a single-line reply. */
  readonly lines: readonly string[];
  /** The last line's text (the summary of a multi-line reply). */
  readonly text: string;
  /** 2xx or 3xx. */
  readonly ok: boolean;
  /** Why it was refused, and what it carries: only over the WebSocket's JSON frames. */
  readonly reason?: ErrorReason;
  readonly data?: ReplyData;
}

/** The connection ended while a request waited, or a request was made after it ended. */
export class ConnectionClosedError extends Error {
  constructor(message = "Connection closed by the server") {
    super(message);
    this.name = "ConnectionClosedError";
  }
}

/** The other end of a connection does not speak the labchat protocol. */
export class NotLabchatError extends Error {
  /** A stable code for scripts and tests. */
  readonly code = "NOT_LABCHAT";
  constructor(message: string) {
    super(message);
    this.name = "NotLabchatError";
  }
}

const NOT_LABCHAT =
  "This is not a labchat server (an IRC or web port? labchat's own port is 4000 unless --port moved it)";

/** The idle timeout an ACTIVE reply tells, in milliseconds; 0 for none. */
export function idleTimeoutOf(text: string): number {
  const seconds = Number(/^Idle timeout: (\d+) s/.exec(text)?.[1] ?? 0);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

/** The TLS handshake failed: the server's certificate is not one to trust, or TLS is not spoken. */
export class TlsHandshakeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsHandshakeError";
  }
}

/** What a TLS failure means for a user, from rustls' terse reason. */
function describeTlsFailure(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  if (/UnknownIssuer|unknown ca|BadSignature/i.test(reason)) {
    return "the server's certificate is not signed by a trusted authority (give its CA with --ca FILE)";
  }
  if (/NotValidForName|name/i.test(reason)) {
    return "the server's certificate is not valid for this host name";
  }
  if (/Expired|NotValidYet/i.test(reason)) {
    return "the server's certificate has expired or is not valid yet";
  }
  if (/InvalidContentType|corrupt message|wrong version|record/i.test(reason)) {
    return "the server does not speak TLS on this port";
  }
  return `TLS handshake failed (${reason})`;
}

/** Where to connect. */
export interface ConnectOptions {
  readonly hostname?: string;
  readonly port: number;
  /** Longest line accepted from the server (default 1 MiB: HISTORY replies are long). */
  readonly maxLineBytes?: number;
  /** Connect with TLS; `caCerts` (PEM) are trusted besides the system's roots. */
  readonly tls?: { readonly caCerts?: string[] };
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

/** Receives a download: its size once known, then its raw bytes in order. */
export interface ByteSink {
  start?(size: number): void;
  write(bytes: Uint8Array): Promise<void>;
}

type ReplyWaiter = Waiter<ChatReply> & {
  readonly sink?: ByteSink;
  /** Called for a 3xx reply, after which the waiter waits on for the final reply. */
  onContinue?: (reply: ChatReply) => void;
};

/** A download in progress on the read loop. */
interface RawTransfer {
  remaining: number;
  readonly sink: ByteSink;
  readonly reply: ChatReply;
  readonly waiter: ReplyWaiter;
  error?: Error;
}

const encoder = new TextEncoder();

/** A byte stream both ways: a TCP or TLS connection, or a WebSocket adapted to one. */
export interface ByteTransport {
  /** Reads into `buffer`; the number of bytes, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; the number written. */
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  /**
   * When present, what the server says arrives as typed frames (the WebSocket's JSON
   * subprotocol) rather than as bytes: the next frames, or `null` at the end.
   */
  readFrames?(): Promise<readonly ServerFrame[] | null>;
}

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
  readonly #conn: ByteTransport;
  readonly #pending: ReplyWaiter[] = [];
  readonly #events: ChatEvent[] = [];
  readonly #eventWaiters: Waiter<ChatEvent | undefined>[] = [];
  /** When each event received as a typed frame happened (the server's clock). */
  readonly #eventTimes = new WeakMap<ChatEvent, number>();
  #partial: string[] = [];
  /** A line of the protocol has arrived: this is a labchat server. */
  #spokeProtocol = false;
  #raw: RawTransfer | undefined;
  #closed = false;
  #closeReason: string | undefined;
  readonly #done: Promise<void>;
  /** Writes go one after another: an upload's bytes never have a request line in between. */
  #writes: Promise<void> = Promise.resolve();

  /**
   * Connects over TCP, or TLS.
   *
   * @throws {TlsHandshakeError} when the TLS handshake fails, saying why.
   */
  static async connect(options: ConnectOptions): Promise<ChatConnection> {
    const address = { hostname: options.hostname ?? "127.0.0.1", port: options.port };
    if (!options.tls) {
      const conn = await Deno.connect(address);
      // A request is one short line: send it now, not when the last one is acknowledged (Nagle).
      conn.setNoDelay(true);
      return new ChatConnection(conn, options.maxLineBytes ?? 1024 * 1024);
    }
    const conn = await Deno.connectTls({ ...address, caCerts: options.tls.caCerts });
    try {
      await conn.handshake();
    } catch (error) {
      conn.close();
      throw new TlsHandshakeError(describeTlsFailure(error), { cause: error });
    }
    return new ChatConnection(conn, options.maxLineBytes ?? 1024 * 1024);
  }

  /** Wraps an open connection (TCP, TLS, or a WebSocket through {@linkcode ByteTransport}). */
  constructor(conn: ByteTransport, maxLineBytes = 1024 * 1024) {
    this.#conn = conn;
    this.#done = this.#readLoop(new LineSplitter(maxLineBytes));
  }

  /**
   * Checks the other end is a labchat server, within `timeoutMs`: sends ACTIVE and resolves with
   * the server's idle timeout in milliseconds (0: none).
   *
   * @throws {NotLabchatError} when the other end answers something else, or nothing in time
   */
  async probe(timeoutMs = 5000): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silent = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new NotLabchatError(`${NOT_LABCHAT}: it did not answer within ${timeoutMs / 1000} s`),
          ),
        timeoutMs,
      );
    });
    try {
      const reply = await Promise.race([this.request("ACTIVE"), silent]);
      return idleTimeoutOf(reply.text);
    } catch (error) {
      if (error instanceof ConnectionClosedError && this.#closeReason?.startsWith(NOT_LABCHAT)) {
        throw new NotLabchatError(this.#closeReason);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
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
    return this.#send(line, {});
  }

  /**
   * Sends an UPLOAD request; when the server answers 350, sends `body` and resolves with the
   * final reply. Any other first reply (an error) is returned as is and nothing is sent. Nothing
   * else is written between the request line and the end of the body.
   */
  upload(line: string, body: AsyncIterable<Uint8Array>): Promise<ChatReply> {
    const go = Promise.withResolvers<ChatReply>();
    const final = this.#send(line, { onContinue: go.resolve }, async () => {
      // Both replies may arrive in one read (an empty file): the waiter already expects both.
      const first = await Promise.race([go.promise, final]);
      if (first.code !== Reply.SEND_DATA) return;
      for await (const chunk of body) await this.#writeAll(chunk);
    });
    return final;
  }

  /**
   * Sends a DOWNLOAD request. On `201 size …` the next size raw bytes go to `sink` and the reply
   * resolves once all have been handed over; any other reply resolves at once.
   */
  download(line: string, sink: ByteSink): Promise<ChatReply> {
    return this.#send(line, { sink });
  }

  /**
   * Queues a request: its waiter now (so replies match requests in the order lines are written)
   * and its line on the writer, followed by `more` before anything else is written.
   */
  #send(
    line: string,
    extra: Pick<ReplyWaiter, "sink" | "onContinue">,
    more?: () => Promise<void>,
  ): Promise<ChatReply> {
    if (this.#closed) return Promise.reject(new ConnectionClosedError(this.#closeReason));
    const reply = new Promise<ChatReply>((resolve, reject) => {
      this.#pending.push({ resolve, reject, ...extra });
    });
    const bytes = encoder.encode(line.replace(/[\r\n]+/g, " ") + "\n");
    this.#enqueue(async () => {
      await this.#writeAll(bytes);
      await more?.();
    });
    return reply;
  }

  /** Runs a write job after every earlier one; a failed write is noticed by the read loop. */
  #enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.#writes.then(job);
    this.#writes = run.catch(() => {
      // the read loop sees the closed socket and rejects the pending replies
    });
    return this.#writes;
  }

  /** Writes raw bytes in turn with requests (tests of hostile input). */
  writeRaw(bytes: Uint8Array): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#enqueue(async () => {
      try {
        await this.#writeAll(bytes);
        done.resolve();
      } catch (error) {
        done.reject(error);
      }
    });
    return done.promise;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
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

  /**
   * When an event happened by the server's clock, epoch ms: known for events that came as typed
   * frames (the WebSocket's JSON subprotocol), `undefined` for lines.
   */
  timeOf(event: ChatEvent): number | undefined {
    return this.#eventTimes.get(event);
  }

  async #readLoop(splitter: LineSplitter): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    let rawBuffer: Uint8Array | undefined;
    try {
      const readFrames = this.#conn.readFrames?.bind(this.#conn);
      for (let frames = await readFrames?.(); frames; frames = await readFrames?.()) {
        for (const frame of frames) this.#onFrame(frame);
      }
      while (!readFrames) {
        for (let frame = splitter.next(); frame; frame = splitter.next()) {
          if ("line" in frame) this.#onLine(frame.line);
          // A download reads in large pieces: fewer turns per MiB.
          if (this.#raw) {
            await this.#readRaw(this.#raw, splitter, rawBuffer ??= new Uint8Array(1 << 20));
          }
        }
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        splitter.feed(buffer.subarray(0, n));
      }
    } catch (error) {
      this.#closeReason = error instanceof Error ? error.message : String(error);
    } finally {
      this.#finish();
    }
  }

  #onFrame(frame: ServerFrame): void {
    this.#spokeProtocol = true;
    if (frame.kind === "event") {
      this.#eventTimes.set(frame.event, frame.at);
      this.#pushEvent(frame.event);
      return;
    }
    const { code, lines, reason, data } = frame;
    const text = lines.at(-1) ?? "";
    this.#onReply({ code, lines, text, ok: code >= 200 && code < 400, reason, data });
  }

  #onLine(line: string): void {
    const parsed = parseReplyLine(line);
    if (!parsed) {
      // Not protocol. Before anything that was, the other end speaks something else (IRC, HTTP,
      // SSH): say so rather than wait for ever. Later, ignore it rather than desynchronise.
      if (!this.#spokeProtocol) {
        this.#closeReason = `${NOT_LABCHAT}; it said: ${JSON.stringify(line.slice(0, 60))}`;
        this.#finish();
      }
      return;
    }
    this.#spokeProtocol = true;
    if (this.#partial.length === 0 && isEventCode(parsed.code) && !parsed.more) {
      this.#pushEvent(parseEvent(parsed.code, parsed.text));
      return;
    }
    this.#partial.push(parsed.text);
    if (parsed.more) return;
    const lines = this.#partial;
    this.#partial = [];
    const ok = parsed.code >= 200 && parsed.code < 400;
    this.#onReply({ code: parsed.code, lines, text: parsed.text, ok });
  }

  #onReply(reply: ChatReply): void {
    const head = this.#pending[0];
    if (head?.onContinue && reply.code >= 300 && reply.code < 400) {
      const onContinue = head.onContinue;
      head.onContinue = undefined; // the next reply is the final one
      onContinue(reply);
      return;
    }
    const waiter = this.#pending.shift();
    // A reply nobody asked for (a refusal sent on connect) is surfaced as an event.
    if (!waiter) this.#pushEvent({ type: "unknown", code: reply.code, text: reply.text });
    else if (waiter.sink && reply.code === Reply.DATA_FOLLOWS) {
      const size = Number(/^(\d+) /.exec(reply.text)?.[1]);
      const remaining = Number.isFinite(size) ? size : 0;
      this.#raw = { remaining, sink: waiter.sink, reply, waiter };
      waiter.sink.start?.(remaining);
    } else waiter.resolve(reply);
  }

  /** Hands the next `remaining` bytes to the download's sink, then goes back to lines. */
  async #readRaw(raw: RawTransfer, splitter: LineSplitter, buffer: Uint8Array): Promise<void> {
    const deliver = async (bytes: Uint8Array) => {
      const used = bytes.subarray(0, Math.min(raw.remaining, bytes.length));
      raw.remaining -= used.length;
      if (used.length > 0 && !raw.error) {
        try {
          await raw.sink.write(used);
        } catch (error) {
          // Keep reading to stay in step with the server; report the failure at the end.
          raw.error = error instanceof Error ? error : new Error(String(error));
        }
      }
      if (used.length < bytes.length) splitter.feed(bytes.subarray(used.length));
    };
    await deliver(splitter.takeBuffered());
    while (raw.remaining > 0) {
      const n = await this.#conn.read(buffer);
      if (n === null) throw new Deno.errors.UnexpectedEof("Connection ended during a download");
      await deliver(buffer.subarray(0, n));
    }
    this.#raw = undefined;
    if (raw.error) raw.waiter.reject(raw.error);
    else raw.waiter.resolve(raw.reply);
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
    this.#raw?.waiter.reject(error);
    this.#raw = undefined;
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
