/**
 * A server-side WebSocket on a plain TCP (or TLS) connection, after the HTTP upgrade: what
 * labchat's web clients talk over. Deno's own WebSocket keeps its HTTP request, its connection
 * and a send buffer per socket (16 KiB per idle socket, 26 once it has sent anything); this one
 * keeps what a chat connection keeps: a small read buffer, the bounded outbound queue every
 * connection has (written through the server's write gate) and a frame decoder made when bytes
 * arrive. It has the subset of the WebSocket API the line protocol uses.
 * @module
 */

import type { FlushScheduler, OutboundOwner } from "../../io/outbound.ts";
import { Outbound } from "../../io/outbound.ts";
import { ReadBuffer } from "../../io/read_buffer.ts";
import { concatBytes } from "../../../protocol/bytes.ts";
import {
  CloseCode,
  closePayload,
  encodeFrame,
  FrameDecoder,
  isValidCloseCode,
  Opcode,
  protocolError,
  type WsFrame,
  WsProtocolError,
} from "./ws_frames.ts";

/** Who hears what a socket receives: an object, not closures (thousands of sockets). */
export interface SocketListener {
  /** A whole message: text as a string, binary as bytes. */
  message(data: string | Uint8Array): void;
  /** The connection ended: closed by either side, or failed. Called once. */
  ended(): void;
}

/** The part of a WebSocket a chat connection uses. */
export interface MessageSocket {
  listener: SocketListener | undefined;
  /** Bytes sent and not yet handed to the network. */
  readonly bufferedAmount: number;
  /**
   * Sends a whole frame (see `ws_frames.ts`), which may be shared by many sockets and is never
   * changed, after what is queued. Nothing once the socket is closing.
   */
  sendFrame(frame: Uint8Array): void;
  /** Resolves once everything queued has been written (or the socket has ended). */
  flushed(): Promise<void>;
  /** Starts the closing handshake (once); the connection ends when the peer answers. */
  close(code?: number, reason?: string): void;
}

/** Settings of a {@linkcode RawWebSocket}. */
export interface RawWebSocketOptions {
  /** The largest message (all its fragments) the peer may send; more fails with 1009. */
  readonly maxMessageBytes: number;
  /** Bytes the queue may hold before the peer counts as not reading and is cut off. */
  readonly maxQueueBytes: number;
  readonly scheduler?: FlushScheduler;
}

/** How long the peer has to answer our close frame before the connection is cut. */
const CLOSE_WAIT_MS = 2000;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const NO_BYTES = new Uint8Array(0);

/** See the module documentation. */
export class RawWebSocket implements MessageSocket, OutboundOwner {
  listener: SocketListener | undefined;
  readonly #conn: Deno.Conn;
  readonly #options: RawWebSocketOptions;
  readonly #outbound: Outbound;
  #decoder: FrameDecoder | undefined;
  /** The fragments of a message still arriving. */
  #fragments: Uint8Array[] | undefined;
  #fragmentedOpcode = 0;
  #fragmentedBytes = 0;
  /** Our close frame is sent: nothing more goes out. */
  #closeSent = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #ended = false;

  /**
   * @param head the upgrade's response head, written before anything sent on the socket
   */
  constructor(conn: Deno.Conn, head: Uint8Array, options: RawWebSocketOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#outbound = new Outbound(conn, options.maxQueueBytes, this, options.scheduler);
    this.#outbound.send(head, true);
  }

  get bufferedAmount(): number {
    return this.#outbound.queuedBytes;
  }

  sendFrame(frame: Uint8Array): void {
    if (this.#closeSent || this.#ended) return;
    this.#outbound.send(frame, true); // gathered on the flush timer by the connection already
  }

  flushed(): Promise<void> {
    return this.#outbound.flushed();
  }

  close(code: number = CloseCode.NORMAL, reason = ""): void {
    if (this.#ended || this.#closeSent) return; // closing already: the handshake ends it
    this.#sendClose(code, reason);
  }

  /** Reads frames until the connection ends; `leftover` is what followed the upgrade request. */
  async run(leftover: Uint8Array): Promise<void> {
    try {
      if (leftover.length > 0) this.#received(leftover);
      // The suspended loop would otherwise keep the upgrade request's bytes for the socket's life.
      leftover = NO_BYTES;
      const buffer = new ReadBuffer();
      while (!this.#ended) {
        const bytes = buffer.bytes;
        const n = await this.#conn.read(bytes);
        if (n === null) break;
        this.#received(bytes.subarray(0, n));
        buffer.filled(n);
      }
    } catch {
      // reset by the peer, or closed by us: the end is the same
    } finally {
      this.#end();
    }
  }

  overflowed(): void {
    this.#end(); // the peer reads nothing: no close frame could reach it either
  }

  failed(): void {
    this.#end();
  }

  #received(bytes: Uint8Array): void {
    const decoder = this.#decoder ??= new FrameDecoder(this.#options.maxMessageBytes);
    decoder.feed(bytes);
    try {
      for (let frame = decoder.next(); frame && !this.#ended; frame = decoder.next()) {
        this.#handle(frame);
      }
    } catch (error) {
      if (!(error instanceof WsProtocolError)) throw error;
      this.#fail(error.closeCode, error.message);
    }
    // An idle socket keeps no decoder, and none of the bytes it last read.
    if (decoder.idle) this.#decoder = undefined;
  }

  #handle(frame: WsFrame): void {
    switch (frame.opcode) {
      case Opcode.PING:
        if (!this.#closeSent) this.#write(Opcode.PONG, frame.payload);
        return;
      case Opcode.PONG:
        return;
      case Opcode.CLOSE:
        return this.#peerClosed(frame.payload);
      case Opcode.CONTINUATION:
        if (!this.#fragments) throw protocolError("a continuation frame without a message");
        this.#addFragment(frame);
        return;
      default:
        if (this.#fragments) throw protocolError("a new message inside a fragmented one");
        if (frame.fin) return this.#deliver(frame.opcode, frame.payload);
        this.#fragments = [];
        this.#fragmentedOpcode = frame.opcode;
        this.#fragmentedBytes = 0;
        this.#addFragment(frame);
    }
  }

  #addFragment(frame: WsFrame): void {
    const fragments = this.#fragments as Uint8Array[];
    this.#fragmentedBytes += frame.payload.length;
    if (this.#fragmentedBytes > this.#options.maxMessageBytes) {
      throw new WsProtocolError(CloseCode.TOO_BIG, "message over the size limit");
    }
    fragments.push(frame.payload);
    if (!frame.fin) return;
    this.#fragments = undefined;
    this.#deliver(this.#fragmentedOpcode, concatBytes(fragments));
  }

  #deliver(opcode: number, payload: Uint8Array): void {
    if (this.#closeSent) return; // closing: what still arrives is not handled
    if (opcode === Opcode.BINARY) {
      this.listener?.message(payload);
      return;
    }
    let text: string;
    try {
      text = strictUtf8.decode(payload);
    } catch {
      throw new WsProtocolError(CloseCode.INVALID_DATA, "a text message that is not UTF-8");
    }
    this.listener?.message(text);
  }

  /** The peer's close frame: answered with ours (its code echoed), then the connection ends. */
  #peerClosed(payload: Uint8Array): void {
    if (payload.length === 1) throw protocolError("a close frame of one byte");
    const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : CloseCode.NORMAL;
    if (!isValidCloseCode(code)) throw protocolError(`close code ${code}`);
    try {
      strictUtf8.decode(payload.subarray(2));
    } catch {
      throw new WsProtocolError(CloseCode.INVALID_DATA, "a close reason that is not UTF-8");
    }
    if (!this.#closeSent) this.#sendClose(code, "");
    void this.#outbound.flushed().then(() => this.#end());
  }

  /** Fails the connection (RFC 6455 §7.1.7): our close frame with the reason, then the end. */
  #fail(code: number, reason: string): void {
    if (!this.#closeSent) this.#sendClose(code, reason);
    void this.#outbound.flushed().then(() => this.#end());
  }

  #sendClose(code: number, reason: string): void {
    this.#write(Opcode.CLOSE, closePayload(code, reason));
    this.#closeSent = true;
    this.#outbound.close();
    // The peer answers with its close frame and the read loop ends; one that does not is cut.
    this.#closeTimer = setTimeout(() => this.#end(), CLOSE_WAIT_MS);
  }

  /** A control frame: written at once, not on the flush timer. */
  #write(opcode: number, payload: Uint8Array): void {
    this.#outbound.send(encodeFrame(opcode, payload), true);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#closeTimer);
    this.#outbound.close(true);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.listener?.ended();
  }
}
