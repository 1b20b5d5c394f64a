/**
 * The protocol over a WebSocket for {@linkcode ChatConnection}: each request line goes out as one
 * frame; what the server says comes either as typed JSON frames (asked for with the subprotocol,
 * see lib/protocol/frames.ts) or as lines, seen as a byte stream. Works with the browser's
 * WebSocket and Deno's alike.
 * @module
 */

import { JSON_SUBPROTOCOL, parseServerFrames, type ServerFrame } from "../protocol/frames.ts";
import type { ByteTransport } from "./chat_connection.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A WebSocket as a {@linkcode ByteTransport}: typed frames or lines in, request lines out. */
export class WebSocketTransport implements ByteTransport {
  readonly #socket: WebSocket;
  #chunks: Uint8Array[] = [];
  #frames: ServerFrame[][] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  #partial = "";
  #bad: Error | undefined;
  /** Defined (and so used by the connection) only when the server speaks JSON frames. */
  readonly readFrames: (() => Promise<readonly ServerFrame[] | null>) | undefined;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    const json = socket.protocol === JSON_SUBPROTOCOL;
    if (json) this.readFrames = () => this.#nextFrames();
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return; // the protocol is text
      if (!json) this.#chunks.push(encoder.encode(message.data + "\n"));
      else {
        try {
          this.#frames.push(parseServerFrames(message.data));
        } catch (error) {
          this.#bad = error instanceof Error ? error : new Error(String(error));
          this.close();
        }
      }
      this.#wake?.();
    };
    socket.onclose = () => {
      this.#ended = true;
      this.#wake?.();
    };
  }

  /** Wraps a WebSocket that is open already. */
  static adopt(socket: WebSocket): WebSocketTransport {
    return new WebSocketTransport(socket);
  }

  /**
   * Opens a WebSocket to `url` and resolves once it is open; with `json`, asks for typed frames
   * and fails unless the server agrees.
   *
   * @throws {Error} when it cannot be opened.
   */
  static open(url: string, options: { json?: boolean } = {}): Promise<WebSocketTransport> {
    return new Promise((resolve, reject) => {
      const socket = options.json ? new WebSocket(url, [JSON_SUBPROTOCOL]) : new WebSocket(url);
      socket.onopen = () => {
        if (!options.json || socket.protocol === JSON_SUBPROTOCOL) {
          resolve(new WebSocketTransport(socket));
          return;
        }
        socket.close(1000);
        reject(new Error(`The server at ${url} does not speak ${JSON_SUBPROTOCOL}`));
      };
      socket.onerror = () => reject(new Error(`Cannot open a WebSocket to ${url}`));
    });
  }

  async #nextFrames(): Promise<readonly ServerFrame[] | null> {
    while (this.#frames.length === 0) {
      if (this.#bad) throw this.#bad;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    return this.#frames.shift() ?? null;
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    const chunk = this.#chunks[0];
    const n = Math.min(buffer.length, chunk.length);
    buffer.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(n);
    return n;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error("The WebSocket is closed"));
    }
    const lines = (this.#partial + decoder.decode(bytes, { stream: true })).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) this.#socket.send(line);
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.#ended = true;
    this.#wake?.();
    try {
      this.#socket.close(1000);
    } catch {
      // already closed
    }
  }
}
