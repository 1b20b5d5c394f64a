/**
 * A lean receiving client over the web client's WebSocket, the counterpart of
 * {@linkcode LoadClient}: counts broadcast events in the frames without parsing them, and reads
 * the send time of sampled ones.
 * @module
 */

import type { Receiver } from "./load_client.ts";

/** A logged-in WebSocket connection that counts 602 broadcast events. */
export class WsLoadClient implements Receiver {
  readonly #socket: WebSocket;
  received = 0;
  readonly latencies: number[] = [];
  readonly #closed: Promise<void>;

  private constructor(socket: WebSocket, sample: boolean) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    socket.onmessage = (message) => {
      const frame = String(message.data);
      // A frame holds whole lines separated by "\n".
      if (frame.startsWith("602 ")) this.received++;
      for (let at = frame.indexOf("\n602 "); at !== -1; at = frame.indexOf("\n602 ", at + 1)) {
        this.received++;
      }
      if (!sample) return;
      const now = performance.timeOrigin + performance.now();
      for (const line of frame.split("\n")) {
        const sent = /^602 .* t=(\d+(?:\.\d+)?)$/.exec(line)?.[1];
        if (sent) this.latencies.push(now - Number(sent));
      }
    };
  }

  /** Connects to `ws://127.0.0.1:port/ws` and registers `name`; counting starts after the welcome. */
  static async register(port: number, name: string, sample: boolean): Promise<WsLoadClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`Cannot open a WebSocket for ${name}`));
    });
    const welcome = new Promise<void>((resolve, reject) => {
      socket.onmessage = (message) => {
        const line = String(message.data).split("\n").find((l) => !l.startsWith("6"));
        if (line === undefined) return; // others' login notices
        if (line.startsWith("200 ")) resolve();
        else reject(new Error(`REGISTER ${name} failed: ${line}`));
      };
    });
    socket.send(`REGISTER ${name} pw`);
    await welcome;
    return new WsLoadClient(socket, sample);
  }

  async close(): Promise<void> {
    this.#socket.close();
    await this.#closed;
  }
}
