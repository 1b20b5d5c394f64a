/**
 * The line protocol over a WebSocket, as a byte stream for {@linkcode ChatConnection}: each frame
 * from the server holds whole lines; each request line goes out as one frame. Works with the
 * browser's WebSocket and Deno's alike.
 * @module
 */

import type { ByteTransport } from "./chat_connection.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A WebSocket seen as a byte stream of lines. */
export class WebSocketTransport implements ByteTransport {
  readonly #socket: WebSocket;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  #partial = "";

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return; // the protocol is text
      this.#chunks.push(encoder.encode(message.data + "\n"));
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
   * Opens a WebSocket to `url` and resolves once it is open.
   *
   * @throws {Error} when it cannot be opened.
   */
  static open(url: string): Promise<WebSocketTransport> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.onopen = () => resolve(new WebSocketTransport(socket));
      socket.onerror = () => reject(new Error(`Cannot open a WebSocket to ${url}`));
    });
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
