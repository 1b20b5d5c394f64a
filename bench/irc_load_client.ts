/**
 * A lean IRC client for load runs, the same for labchat's gateway and other IRC servers: it
 * registers, joins a channel, counts the PRIVMSGs to it by scanning bytes, and decodes text only
 * to sample latency (`t=<epoch ms>` at the end of the message).
 * @module
 */

import { type Receiver, writeAll } from "./load_client.ts";

const encoder = new TextEncoder();
const MARK = encoder.encode(" PRIVMSG #lab :");

/** An IRC connection in `#lab` that counts the messages said there. */
export class IrcLoadClient implements Receiver {
  readonly #conn: Deno.TcpConn;
  received = 0;
  readonly latencies: number[] = [];
  readonly #sample: boolean;
  /** Bytes of the MARK matched so far across reads. */
  #matched = 0;
  #partial = "";
  readonly #decoder = new TextDecoder();
  #loop: Promise<void> | undefined;

  private constructor(conn: Deno.TcpConn, sample: boolean) {
    this.#conn = conn;
    this.#sample = sample;
  }

  /**
   * Connects, registers `nick`, joins `#lab` and waits for its names list (labchat joins it by
   * itself; JOIN again is harmless there).
   */
  static async join(port: number, nick: string, sample: boolean): Promise<IrcLoadClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await writeAll(conn, encoder.encode(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`));
    const buffer = new Uint8Array(16 * 1024);
    let text = "";
    const decoder = new TextDecoder();
    let joined = false;
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`Connection closed while ${nick} registered: ${text}`);
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
      if (!joined && / 00[14] /.test(text)) {
        await writeAll(conn, encoder.encode("JOIN #lab\r\n"));
        joined = true;
      }
      if (/ 366 \S+ #lab /i.test(text)) break;
      if (/^:\S+ 4(?!2[12])\d\d /m.test(text)) {
        throw new Error(`${nick} cannot register: ${text.slice(0, 500)}`);
      }
    }
    const client = new IrcLoadClient(conn, sample);
    client.#loop = client.#read();
    return client;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch {
        return;
      }
      if (n === null) return;
      const bytes = buffer.subarray(0, n);
      this.#count(bytes);
      if (this.#sample) this.#sampleLatency(bytes);
    }
  }

  #count(bytes: Uint8Array): void {
    let matched = this.#matched;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === MARK[matched]) {
        if (++matched === MARK.length) {
          this.received++;
          matched = 0;
        }
      } else matched = bytes[i] === MARK[0] ? 1 : 0;
    }
    this.#matched = matched;
  }

  #sampleLatency(bytes: Uint8Array): void {
    const now = performance.timeOrigin + performance.now();
    const lines = (this.#partial + this.#decoder.decode(bytes, { stream: true })).split("\r\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      const sent = / PRIVMSG #lab :.* t=(\d+(?:\.\d+)?)$/.exec(line)?.[1];
      if (sent) this.latencies.push(now - Number(sent));
    }
  }

  /** Sends raw IRC lines. */
  send(lines: string): Promise<void> {
    return writeAll(this.#conn, encoder.encode(lines));
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    await this.#loop;
  }
}
