/**
 * The protocol over a WebSocket: each text frame from the browser is a request line; replies and
 * events go out gathered on the shared flush timer, as text frames of one or more lines, or, for
 * a client that asked for the JSON subprotocol, as JSON arrays of typed frames
 * (lib/protocol/frames.ts). The same limits as TCP: line size, request rate (through the
 * pipeline), send queue (the socket's `bufferedAmount`), idle timeout.
 * @module
 */

import type { OutboundEvent } from "../../protocol/events.ts";
import type { Frame } from "../../protocol/line_splitter.ts";
import { formatReply } from "../../protocol/reply.ts";
import type { ReplyDetail } from "../../protocol/reply_data.ts";
import type { ClientOutput } from "../client.ts";
import type { Flushable, FlushScheduler } from "../io/outbound.ts";
import { within } from "../io/within.ts";

// deno-lint-ignore no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
const encoder = new TextEncoder();

/** Frames received and not yet handled before the client counts as flooding. */
const MAX_WAITING_FRAMES = 256;
/** How often a paced sender looks whether the socket has drained. */
const DRAIN_POLL_MS = 10;

/** Settings of a {@linkcode WsConnection}. */
export interface WsConnectionOptions {
  readonly maxLineBytes: number;
  readonly maxSendQueueBytes: number;
  /** Called once when the browser stops reading or floods. */
  readonly onSlowReader: (why: "not reading" | "flooding") => void;
  readonly flush?: FlushScheduler;
  /** JSON frames (the client asked for the subprotocol), or lines. */
  readonly json?: boolean;
}

/** One WebSocket speaking the line protocol. */
export class WsConnection implements ClientOutput, Flushable {
  readonly rawBytes = false;
  readonly #socket: WebSocket;
  readonly #options: WsConnectionOptions;
  /** Lines (or JSON frame items) waiting for the next frame. */
  #pending: string[] = [];
  #waiting: Frame[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #whenClosed = Promise.withResolvers<void>();

  constructor(socket: WebSocket, options: WsConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.onmessage = (message) => this.#receive(message.data);
    socket.onclose = () => void this.close();
    socket.onerror = () => void this.close();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection closes. */
  get whenClosed(): Promise<void> {
    return this.#whenClosed.promise;
  }

  /** A frame from the browser: one request line, checked as the TCP splitter checks lines. */
  #receive(data: unknown): void {
    if (this.#closed || this.#closing) return;
    let frame: Frame;
    if (typeof data !== "string") frame = { error: "invalid_utf8" };
    else if (encoder.encode(data).length > this.#options.maxLineBytes) {
      frame = { error: "too_long" };
    } else if (data.includes("\0")) frame = { error: "nul_byte" };
    else if (CONTROL.test(data.replace(/\r?\n$/, ""))) frame = { error: "control_char" };
    else frame = { line: data.replace(/\r?\n$/, "") };
    if (this.#waiting.length >= MAX_WAITING_FRAMES) {
      this.#options.onSlowReader("flooding");
      return;
    }
    this.#waiting.push(frame);
    this.#wake?.();
  }

  /**
   * Hands each frame to `onFrame` in order, waiting for it before the next, until the socket
   * closes.
   */
  async readFrames(onFrame: (frame: Frame) => Promise<void>): Promise<void> {
    while (!this.#closed) {
      const frame = this.#waiting.shift();
      if (frame) {
        await onFrame(frame);
        continue;
      }
      await Promise.race([
        new Promise<void>((resolve) => this.#wake = resolve),
        this.#whenClosed.promise,
      ]);
      this.#wake = undefined;
    }
  }

  /** Waits `ms`, or less if the connection closes first. */
  pause(ms: number): Promise<void> {
    return within(this.#whenClosed.promise, ms);
  }

  #queue(text: string): boolean {
    if (this.#closed) return false;
    this.#pending.push(text);
    if (this.#options.flush) this.#options.flush.schedule(this);
    else this.kick();
    return true;
  }

  /** Sends what is queued as one frame; a browser that lets too much pile up is dropped. */
  kick(): void {
    if (this.#closed || this.#pending.length === 0) return;
    const text = this.#options.json ? `[${this.#pending.join(",")}]` : this.#pending.join("\n");
    this.#pending = [];
    try {
      this.#socket.send(text);
    } catch {
      void this.close();
      return;
    }
    if (this.#socket.bufferedAmount > this.#options.maxSendQueueBytes) {
      this.#options.onSlowReader("not reading");
    }
  }

  event(event: OutboundEvent): boolean {
    return this.#queue(this.#options.json ? event.json : event.text);
  }

  async eventsPaced(events: Iterable<OutboundEvent>): Promise<void> {
    for (const event of events) {
      while (!this.#closed && this.#socket.bufferedAmount > this.#options.maxSendQueueBytes / 2) {
        await this.pause(DRAIN_POLL_MS);
      }
      if (!this.event(event)) return;
    }
  }

  reply(code: number, text: string | readonly string[], detail?: ReplyDetail): Promise<void> {
    if (!this.#options.json) this.#queue(formatReply(code, text).replace(/\n$/, ""));
    else {
      const lines = typeof text === "string" ? [text] : text.length === 0 ? [""] : text;
      const oneLine = lines.map((line) => line.replace(/\r\n|[\r\n]/g, " "));
      this.#queue(JSON.stringify({ kind: "reply", code, lines: oneLine, ...detail }));
    }
    return Promise.resolve();
  }

  stream(): Promise<void> {
    return Promise.reject(new Error("A WebSocket does not carry raw bytes"));
  }

  readRaw(): Promise<void> {
    return Promise.reject(new Error("A WebSocket does not carry raw bytes"));
  }

  async flushed(): Promise<void> {
    this.kick();
    while (!this.#closed && this.#socket.bufferedAmount > 0) await this.pause(DRAIN_POLL_MS);
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
    const until = performance.now() + graceMs;
    while (!this.#closed && this.#socket.bufferedAmount > 0 && performance.now() < until) {
      await this.pause(DRAIN_POLL_MS);
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#whenClosed.resolve();
    this.#wake?.();
    try {
      this.#socket.close(1000);
    } catch {
      // already closed
    }
  }
}
