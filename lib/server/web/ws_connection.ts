/**
 * The protocol over a WebSocket: each text message from the browser is a request line; replies and
 * events go out gathered on the shared flush timer, as text frames of one or more lines, or, for
 * a client that asked for the JSON subprotocol, as JSON arrays of typed frames
 * (lib/protocol/frames.ts); a frame of events only is made once for every socket that has the
 * same ones waiting (shared_frames.ts). The same limits as TCP: line size, request rate (through
 * the pipeline), send queue, idle timeout.
 * @module
 */

import type { OutboundEvent } from "../../protocol/events.ts";
import type { Frame } from "../../protocol/line_splitter.ts";
import { formatReply } from "../../protocol/reply.ts";
import type { ReplyDetail } from "../../protocol/reply_data.ts";
import type { Client, ClientOutput } from "../client.ts";
import type { FrameSink } from "../client_host.ts";
import type { Flushable, FlushScheduler } from "../io/outbound.ts";
import { within } from "../io/within.ts";
import type { MessageSocket, SocketListener } from "./http1/raw_websocket.ts";
import { type Pending, SharedFrames } from "./shared_frames.ts";

// deno-lint-ignore no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
const encoder = new TextEncoder();

const LINE_FRAMES = new SharedFrames(false);
const JSON_FRAMES = new SharedFrames(true);

/** Frames received and not yet handled before the client counts as flooding. */
const MAX_WAITING_FRAMES = 256;
/** How often a paced sender looks whether the socket has drained. */
const DRAIN_POLL_MS = 10;

/**
 * Settings of a {@linkcode WsConnection}: one set shared by many connections (each would otherwise
 * hold closures of its own), so callbacks are told which connection they are about.
 */
export interface WsConnectionOptions {
  readonly maxLineBytes: number;
  readonly maxSendQueueBytes: number;
  /** Called once when the browser stops reading or floods. */
  readonly onSlowReader: (connection: WsConnection, why: "not reading" | "flooding") => void;
  /** The timer every connection's output leaves on. */
  readonly flush?: FlushScheduler;
  /** JSON frames (the client asked for the subprotocol), or lines. */
  readonly json?: boolean;
}

/** One WebSocket speaking the line protocol. */
export class WsConnection implements ClientOutput, SocketListener, Flushable {
  readonly rawBytes = false;
  /** The client this connection serves, once the front end made it. */
  client: Client | undefined;
  readonly #socket: MessageSocket;
  readonly #options: WsConnectionOptions;
  /** Events and replies waiting for the next frame. */
  #pending: Pending[] = [];
  /** Frames received while one is being handled; made when one must wait. */
  #waiting: Frame[] | undefined;
  #sink: FrameSink | undefined;
  /** A frame is being handled: the next ones wait their turn. */
  #busy = false;
  /** The sink has been told of the end (once). */
  #sinkEnded = false;
  /** Resolves {@linkcode readFrames}' promise once the sink has been told. */
  #resolveEnded: ((result: void | PromiseLike<void>) => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Made when someone waits for the close (most connections never have it). */
  #whenClosed: PromiseWithResolvers<void> | undefined;

  constructor(socket: MessageSocket, options: WsConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.listener = this;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection closes. */
  get whenClosed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return (this.#whenClosed ??= Promise.withResolvers<void>()).promise;
  }

  /** The socket ended (the browser left, or the connection failed). */
  ended(): void {
    void this.close();
  }

  /** A message from the browser: one request line, checked as the TCP splitter checks lines. */
  message(data: string | Uint8Array): void {
    if (this.#closed || this.#closing || this.#sinkEnded) return;
    let frame: Frame;
    if (typeof data !== "string") frame = { error: "invalid_utf8" };
    else if (encoder.encode(data).length > this.#options.maxLineBytes) {
      frame = { error: "too_long" };
    } else if (data.includes("\0")) frame = { error: "nul_byte" };
    else if (CONTROL.test(data.replace(/\r?\n$/, ""))) frame = { error: "control_char" };
    else frame = { line: data.replace(/\r?\n$/, "") };
    if (!this.#busy && this.#sink) {
      void this.#handleFrames(this.#sink, frame);
      return;
    }
    const waiting = this.#waiting ??= [];
    if (waiting.length >= MAX_WAITING_FRAMES) {
      this.#options.onSlowReader(this, "flooding");
      return;
    }
    waiting.push(frame);
  }

  /**
   * Hands each frame to `sink` in order, waiting for it before the next, until the socket
   * closes; then tells the sink, and resolves. An idle connection waits in no async frame of its
   * own (the socket's read loop is the one): a message starts the handling.
   */
  readFrames(sink: FrameSink): Promise<void> {
    this.#sink = sink;
    const done = new Promise<void>((resolve) => this.#resolveEnded = resolve);
    const first = this.#waiting?.shift();
    if (this.#closed) void this.#endSink();
    else if (first) void this.#handleFrames(sink, first);
    return done;
  }

  /**
   * Handles `first`, then the frames that came meanwhile, one after another; the end, if it came
   * meanwhile, after them.
   */
  async #handleFrames(sink: FrameSink, first: Frame): Promise<void> {
    this.#busy = true;
    let failed = false;
    let failure: unknown;
    try {
      for (let frame: Frame | undefined = first; frame; frame = this.#waiting?.shift()) {
        if (this.#closed) break;
        await sink.handle(frame);
      }
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.#busy = false;
    this.#waiting = undefined;
    if (failed || this.#closed) await this.#endSink(failure);
  }

  /**
   * Tells the sink the connection ended (once), then settles `readFrames` as the sink's end did.
   * Never rejects: it runs unawaited.
   */
  async #endSink(failure?: unknown): Promise<void> {
    const sink = this.#sink;
    const settle = this.#resolveEnded;
    if (!sink || !settle || this.#sinkEnded) return;
    this.#sinkEnded = true;
    this.#resolveEnded = undefined;
    try {
      await sink.ended(failure);
      settle();
    } catch (error) {
      settle(Promise.reject(error));
    }
  }

  /** Waits `ms`, or less if the connection closes first. */
  pause(ms: number): Promise<void> {
    return within(this.whenClosed, ms);
  }

  #queue(item: Pending): boolean {
    if (this.#closed) return false;
    this.#pending.push(item);
    if (this.#options.flush) this.#options.flush.schedule(this);
    else this.kick();
    return true;
  }

  /** Sends what waits as one frame; a browser that lets too much pile up is dropped. */
  kick(): void {
    if (this.#closed || this.#pending.length === 0) return;
    const frames = this.#options.json ? JSON_FRAMES : LINE_FRAMES;
    this.#socket.sendFrame(frames.frame(this.#pending));
    this.#pending = [];
    if (this.#socket.bufferedAmount > this.#options.maxSendQueueBytes) {
      this.#options.onSlowReader(this, "not reading");
    }
  }

  event(event: OutboundEvent): boolean {
    return this.#queue(event);
  }

  async eventsPaced(events: Iterable<OutboundEvent>): Promise<void> {
    for (const event of events) {
      while (!this.#closed && this.#socket.bufferedAmount > this.#options.maxSendQueueBytes / 2) {
        await this.pause(DRAIN_POLL_MS);
      }
      if (!this.event(event)) return;
    }
  }

  /** Queues a reply and sends it at once, with the events before it: someone waits for it. */
  reply(code: number, text: string | readonly string[], detail?: ReplyDetail): Promise<void> {
    if (!this.#options.json) this.#queue(formatReply(code, text).replace(/\n$/, ""));
    else {
      const lines = typeof text === "string" ? [text] : text.length === 0 ? [""] : text;
      const oneLine = lines.map((line) => line.replace(/\r\n|[\r\n]/g, " "));
      this.#queue(JSON.stringify({ kind: "reply", code, lines: oneLine, ...detail }));
    }
    this.kick();
    return Promise.resolve();
  }

  stream(): Promise<void> {
    return Promise.reject(new Error("A WebSocket does not carry raw bytes"));
  }

  readRaw(): Promise<void> {
    return Promise.reject(new Error("A WebSocket does not carry raw bytes"));
  }

  flushed(): Promise<void> {
    this.kick();
    return this.#socket.flushed();
  }

  /**
   * Closes the socket; `graceful` first lets what is queued drain for up to `graceMs`. A later
   * close that is not graceful (the server shutting down) ends the wait at once.
   */
  close(graceful = false, graceMs = 2000): Promise<void> {
    if (!graceful) this.#finish();
    this.#closing ??= this.#drainThenFinish(graceMs);
    return this.#closing;
  }

  async #drainThenFinish(graceMs: number): Promise<void> {
    this.kick();
    await within(this.#socket.flushed(), graceMs);
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#whenClosed?.resolve();
    if (!this.#busy) void this.#endSink(); // else once the frame in hand is handled
    try {
      this.#socket.close(1000);
    } catch {
      // already closed
    }
  }
}
